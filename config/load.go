package config

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

//go:embed default.toml
var defaultTOML []byte

var typeErrRe = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]+)"\): (.*)$`)

// DefaultFile names the embedded default in messages.
const DefaultFile = "(embedded default)"

// DefaultPath is the file a command reads when none is named and it exists.
const DefaultPath = "civicdns.toml"

// ResolvePath returns the file a command reads: path when given, else
// DefaultPath when it exists, else "" (the embedded default).
func ResolvePath(path string) string {
	if path != "" {
		return path
	}
	if _, err := os.Stat(DefaultPath); err == nil {
		return DefaultPath
	}
	return ""
}

// LoadPath is LoadAll for the file ResolvePath picks, or the embedded default.
func LoadPath(path string) (*Config, Errors) {
	path = ResolvePath(path)
	if path == "" {
		cfg, err := LoadDefault()
		if err != nil {
			return nil, Errors{{File: DefaultFile, Msg: err.Error()}}
		}
		return cfg, nil
	}
	return LoadAll(path)
}

// Load reads, decodes and validates the main configuration file.
func Load(path string) (*Config, error) {
	cfg, errs := LoadAll(path)
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// LoadAll is Load keeping the configuration when only values were wrong (see ParseAll).
func LoadAll(path string) (*Config, Errors) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	cfg, errs := ParseAll(path, data)
	if cfg != nil {
		cfg.Dir = filepath.Dir(path)
	}
	return cfg, errs
}

// LoadDefault returns the embedded default: 127.0.0.1:5353, the system's
// resolvers, the shipped category lists and the citywide minimum.
func LoadDefault() (*Config, error) {
	cfg, err := Parse(DefaultFile, defaultTOML)
	if err != nil {
		return nil, err
	}
	cfg.Embedded = true
	cfg.Dir = "."
	return cfg, nil
}

// DefaultTOML is the text of the embedded default, a starting point for a file.
func DefaultTOML() []byte { return defaultTOML }

// Parse decodes TOML text over the defaults, rejects unknown keys and
// validates everything, returning every problem with its file:line.
func Parse(file string, data []byte) (*Config, error) {
	cfg, errs := ParseAll(file, data)
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// ParseAll is Parse for `civicdns check`: it also returns the configuration
// when only values were wrong (nil only when the text cannot be decoded),
// so that the lists it names can be checked in the same run.
func ParseAll(file string, data []byte) (*Config, Errors) {
	cfg := defaults()
	cfg.File = file
	pos, errs := DecodeStrict(file, data, &cfg)
	if pos == nil {
		return nil, errs
	}
	cfg.pos = *pos
	errs = append(errs, withoutEchoes(cfg.validate(), errs, data)...)
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return &cfg, errs
}

// withoutEchoes drops the validation errors that only repeat a value error:
// a wrong-typed value was left out of decoding, so its table may look as
// if the key were missing ("an [[exemption]] needs expires").
func withoutEchoes(verrs, decodeErrs Errors, data []byte) Errors {
	lines := strings.Split(string(data), "\n")
	header := func(line int) int { // the table header above line, 0 for the top level
		for l := line; l >= 1; l-- {
			if t := strings.TrimSpace(lines[l-1]); strings.HasPrefix(t, "[") {
				return l
			}
		}
		return 0
	}
	var out Errors
	for _, v := range verrs {
		echo := false
		for _, d := range decodeErrs {
			key := d.Key[strings.LastIndexByte(d.Key, '.')+1:]
			if d.Key != "" && d.Line <= len(lines) && v.Line == header(d.Line) && strings.Contains(v.Msg, key) {
				echo = true
			}
		}
		if !echo {
			out = append(out, v)
		}
	}
	return out
}

// DecodeStrict decodes TOML text into v and reports every key v has no
// place for, each with its line. A value of the wrong type (the decoder
// stops at the first) is reported and its line blanked, and the text
// decoded again, so that one wrong value hides no other error. A syntax
// error stops decoding: then the positions are nil and the errors say where.
func DecodeStrict(file string, data []byte, v any) (*Positions, Errors) {
	lines := strings.Split(string(data), "\n")
	if _, err := toml.Decode(string(data), &map[string]any{}); err != nil {
		return nil, Errors{decodeError(file, err)}
	}
	rv := reflect.ValueOf(v).Elem()
	initial := reflect.New(rv.Type()).Elem()
	initial.Set(rv)
	var valueErrs Errors
	for {
		text := strings.Join(lines, "\n")
		if len(valueErrs) > 0 {
			if _, err := toml.Decode(text, &map[string]any{}); err != nil {
				// Blanking a value written over several lines broke the
				// text: what was found before is what there is to say.
				return nil, valueErrs
			}
		}
		md, err := toml.Decode(text, v)
		if err == nil {
			pos := scanPositions(string(data))
			return &pos, append(valueErrs, unknownKeys(file, md, pos)...)
		}
		// The text parses, so this is a value the schema cannot take.
		e := decodeError(file, err)
		valueErrs = append(valueErrs, e)
		if e.Line < 1 || e.Line > len(lines) || len(valueErrs) > len(lines) {
			return nil, valueErrs
		}
		lines[e.Line-1] = ""
		rv.Set(initial)
	}
}

// decodeError turns a TOML decoding error into an Error at its line.
func decodeError(file string, err error) Error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey != "" && !strings.Contains(msg, pe.LastKey) {
			msg = fmt.Sprintf("%s: %s", pe.LastKey, msg)
		}
		return Error{File: file, Line: pe.Position.Line, Col: pe.Position.Col, Msg: msg, Key: pe.LastKey}
	}
	// Type mismatches come as plain errors: "toml: line N (last key "k"): …".
	if m := typeErrRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Error{File: file, Line: line, Msg: m[2] + ": " + m[3], Key: m[2]}
	}
	return Error{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

// unknownKeys reports keys the schema does not have: a typo must not pass.
func unknownKeys(file string, md toml.MetaData, pos Positions) Errors {
	var errs Errors
	seen := map[string]int{}
	reported := map[string]bool{}
	for _, k := range md.Undecoded() {
		path := strings.Join(k, ".")
		if len(k) > 1 && reported[strings.Join(k[:len(k)-1], ".")] {
			reported[path] = true
			continue // its table is already reported as unknown
		}
		reported[path] = true
		line := 0
		if lines := pos.plain[path]; seen[path] < len(lines) {
			line = lines[seen[path]]
		}
		seen[path]++
		errs = append(errs, Error{File: file, Line: line, Msg: fmt.Sprintf("unknown key %q", path)})
	}
	return errs
}

// Where names the file and line of a key path such as "department[1].networks"
// for messages about it (e.g. "civicdns.toml:12").
func (c *Config) Where(path string) string {
	if n := c.pos.Line(path); n > 0 {
		return fmt.Sprintf("%s:%d", c.File, n)
	}
	return c.File
}

// Written reports whether the key path itself is given in the file (not
// left to its default).
func (c *Config) Written(path string) bool { return c.pos.Has(path) }

// ErrorAt makes an Error located at a key path.
func (c *Config) ErrorAt(path, format string, args ...any) Error {
	return Error{File: c.File, Line: c.pos.Line(path), Msg: fmt.Sprintf(format, args...)}
}

// Path resolves a path named in the configuration relative to its folder.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}
