package policy

import "github.com/civicdns/civicdns/config"

// suffixSet holds names that cover their subdomains.
type suffixSet map[string]string // name → where it is written (file:line)

// longest returns where the longest suffix of name in the set starts, or -1.
func (s suffixSet) longest(name string) int {
	if len(s) == 0 {
		return -1
	}
	for start := 0; start < len(name); {
		if _, ok := s[name[start:]]; ok {
			return start
		}
		i := config.LabelEnd(name[start:])
		if i < 0 {
			break
		}
		start += i + 1
	}
	return -1
}
