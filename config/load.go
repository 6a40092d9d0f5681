package config

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	errs = append(errs, cfg.validate()...)
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return &cfg, errs
}

// DecodeStrict decodes TOML text into v and reports every key v has no
// place for, each with its line. A syntax or type error stops decoding: then
// the positions are nil and the one error says where.
func DecodeStrict(file string, data []byte, v any) (*Positions, Errors) {
	text := string(data)
	md, err := toml.Decode(text, v)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if pe.LastKey != "" && !strings.Contains(msg, pe.LastKey) {
				msg = fmt.Sprintf("%s: %s", pe.LastKey, msg)
			}
			return nil, Errors{{File: file, Line: pe.Position.Line, Col: pe.Position.Col, Msg: msg}}
		}
		// Type mismatches come as plain errors: "toml: line N (last key "k"): …".
		if m := typeErrRe.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, Errors{{File: file, Line: line, Msg: m[2] + ": " + m[3]}}
		}
		return nil, Errors{{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}}
	}
	pos := scanPositions(text)
	return &pos, unknownKeys(file, md, pos)
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
