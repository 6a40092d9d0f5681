package config

import (
	"regexp"
	"strconv"
	"strings"
)

// Positions maps key paths to the line they are written on, so that errors
// found after decoding (a bad CIDR, an unknown category) can name file:line.
// The TOML decoder keeps key positions private; this is a line scanner over
// the same text that knows tables, arrays of tables and key assignments.
type Positions struct {
	indexed map[string]int   // "department[1].networks" → line
	plain   map[string][]int // "department.networks" → every line it is on
}

var (
	tableRe = regexp.MustCompile(`^\[\s*([^\[\]]+?)\s*\]`)
	arrayRe = regexp.MustCompile(`^\[\[\s*([^\[\]]+?)\s*\]\]`)
	keyRe   = regexp.MustCompile(`^((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=`)
)

func scanPositions(text string) Positions {
	p := Positions{indexed: map[string]int{}, plain: map[string][]int{}}
	counts := map[string]int{} // array table → how many seen
	prefix, plainPrefix := "", ""
	inMulti := ""
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		s := strings.TrimSpace(line)
		if inMulti != "" {
			if strings.Count(s, inMulti)%2 == 1 {
				inMulti = ""
			}
			continue
		}
		switch {
		case s == "" || s[0] == '#':
			continue
		case arrayRe.MatchString(s):
			name := splitKey(arrayRe.FindStringSubmatch(s)[1])
			plainPrefix = strings.Join(name, ".")
			counts[plainPrefix]++
			prefix = indexPath(name, counts)
			p.add(prefix, plainPrefix, n)
		case tableRe.MatchString(s):
			name := splitKey(tableRe.FindStringSubmatch(s)[1])
			plainPrefix = strings.Join(name, ".")
			prefix = indexPath(name, counts)
			p.add(prefix, plainPrefix, n)
		case keyRe.MatchString(s):
			key := strings.Join(splitKey(keyRe.FindStringSubmatch(s)[1]), ".")
			p.add(join(prefix, key), join(plainPrefix, key), n)
			for _, q := range []string{`"""`, `'''`} {
				if strings.Count(s, q)%2 == 1 {
					inMulti = q
				}
			}
		}
	}
	return p
}

// indexPath writes a table name with the current index of every array table
// along it: ["upstream","zone"] → "upstream.zone[2]" when zone is an array.
func indexPath(name []string, counts map[string]int) string {
	var b strings.Builder
	for i, seg := range name {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
		if c := counts[strings.Join(name[:i+1], ".")]; c > 0 && i < len(name)-1 {
			b.WriteString("[" + strconv.Itoa(c-1) + "]")
		}
	}
	if c := counts[strings.Join(name, ".")]; c > 0 {
		b.WriteString("[" + strconv.Itoa(c-1) + "]")
	}
	return b.String()
}

func (p Positions) add(indexed, plain string, line int) {
	if _, ok := p.indexed[indexed]; !ok {
		p.indexed[indexed] = line
	}
	p.plain[plain] = append(p.plain[plain], line)
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// splitKey splits a dotted TOML key, unquoting quoted parts.
func splitKey(k string) []string {
	var out []string
	for len(k) > 0 {
		k = strings.TrimLeft(k, " \t.")
		if k == "" {
			break
		}
		if k[0] == '"' || k[0] == '\'' {
			end := strings.IndexByte(k[1:], k[0])
			if end < 0 {
				return append(out, k)
			}
			out = append(out, k[1:end+1])
			k = k[end+2:]
			continue
		}
		end := strings.IndexAny(k, ". \t")
		if end < 0 {
			return append(out, k)
		}
		out = append(out, k[:end])
		k = k[end:]
	}
	return out
}

// Line finds the line of a key path such as "department[1].networks",
// falling back to its table, then to 0 (unknown).
func (p Positions) Line(path string) int {
	for path != "" {
		if n, ok := p.indexed[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// Has reports whether the key path itself was given in the file.
func (p Positions) Has(path string) bool {
	_, ok := p.indexed[path]
	return ok
}
