package config

import (
	"fmt"
	"strings"

	"golang.org/x/net/idna"
)

// NormalizeName gives a name's canonical form for matching: lower case, no
// trailing dot, internationalised labels in punycode. "" stays "" (the root).
func NormalizeName(s string) (string, error) {
	b, err := AppendNormalized(nil, []byte(strings.TrimSpace(s)))
	return string(b), err
}

// AppendNormalized appends the canonical form of name to dst (see
// NormalizeName). Plain ASCII names, nearly all of them, cost no allocation
// beyond dst. A leading "*." (a wildcard some lists write) is dropped: a
// name always covers its subdomains here.
func AppendNormalized(dst, name []byte) ([]byte, error) {
	if len(name) > 0 && name[len(name)-1] == '.' {
		name = name[:len(name)-1]
	}
	if len(name) > 2 && name[0] == '*' && name[1] == '.' {
		name = name[2:]
	}
	if len(name) == 0 {
		return dst, nil
	}
	for _, c := range name {
		if c >= 0x80 {
			a, err := idna.Lookup.ToASCII(string(name))
			if err != nil {
				return dst, fmt.Errorf("%s: %v", quoteName(name), err)
			}
			name = []byte(a)
			break
		}
	}
	if len(name) > 253 {
		return dst, fmt.Errorf("%s is longer than 253 characters", quoteName(name))
	}
	start := len(dst)
	label := 0
	for i, c := range name {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			if label == 0 || i == len(name)-1 {
				return dst[:start], fmt.Errorf("%s has an empty label", quoteName(name))
			}
			label = -1
		default:
			return dst[:start], fmt.Errorf("%s has a character (%q) no host name has", quoteName(name), c)
		}
		label++
		if label > 63 {
			return dst[:start], fmt.Errorf("%s has a label longer than 63 characters", quoteName(name))
		}
		dst = append(dst, c)
	}
	return dst, nil
}

// DepartmentKey is how department names are compared: without surrounding
// spaces and case-insensitively, so that "Police" and "police " are one.
func DepartmentKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// quoteName quotes a name for a message, cut to its first 80 bytes: a list
// line of 100,000 characters is not shown whole.
func quoteName(name []byte) string {
	if len(name) > 80 {
		return fmt.Sprintf("%q… (%d characters)", strings.ToValidUTF8(string(name[:80]), ""), len(name))
	}
	return fmt.Sprintf("%q", name)
}

// LabelEnd returns the index of the dot that ends the first label of a
// name in presentation form, or -1 for the last label. A dot inside a label
// is written escaped ("www\.example" is one label) and ends nothing, so
// names are compared label by label, as DNS does.
func LabelEnd(name string) int {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++ // the escaped byte (or the first digit of \DDD): never a separator
		case '.':
			return i
		}
	}
	return -1
}

// DepartmentNamed is the [[department]] of that name (case and spaces
// around it do not matter), or nil.
func (c *Config) DepartmentNamed(name string) *Department {
	for i := range c.Department {
		if DepartmentKey(c.Department[i].Name) == DepartmentKey(name) {
			return &c.Department[i]
		}
	}
	return nil
}

// DepartmentNames are the [[department]]s' names, in the file's order.
func (c *Config) DepartmentNames() []string {
	out := make([]string, 0, len(c.Department))
	for _, d := range c.Department {
		out = append(out, d.Name)
	}
	return out
}
