package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a configuration or list file, with where it is.
type Error struct {
	File string
	Line int // 0 when unknown
	Col  int // 0 when unknown
	Msg  string
	Key  string // the TOML key of a value that could not be decoded, else ""
}

func (e Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found in one pass, in file order.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Summary counts the errors: "1 error", "3 errors".
func (es Errors) Summary() string {
	if len(es) == 1 {
		return "1 error"
	}
	return fmt.Sprintf("%d errors", len(es))
}

// Sorted returns the errors in file order, then line order.
func (es Errors) Sorted() Errors {
	out := append(Errors(nil), es...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// Err returns nil for no errors, so that callers can return it directly.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
