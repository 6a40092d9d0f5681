package listreview

import (
	"strings"

	"github.com/civicdns/civicdns/blocklists"
)

// Sibling is a listed domain with the same name under another suffix: an
// operator's national site (betika.co.ke beside betika.com) is the commonest
// miss of the maintained lists.
type Sibling struct{ Category, Domain string }

// siblingSuffixes are where operators most often register their names.
var siblingSuffixes = []string{
	"com", "net", "org", "io", "co", "bet", "casino", "info", "biz", "tv", "me", "to", "cc", "ws", "eu", "us", "ag", "lv",
	"uk", "co.uk", "de", "es", "it", "fr", "nl", "be", "se", "dk", "fi", "no", "pl", "cz", "gr", "pt", "ro", "ru",
	"ca", "mx", "com.mx", "com.br", "com.ar", "com.co", "com.au", "co.nz", "co.za", "com.ng", "co.ke", "com.gh", "in", "ph",
}

// siblingsOf finds the listed domains with domain's first label under
// another suffix, in the lists' block lists.
func siblingsOf(m *blocklists.Matcher, domain string) []Sibling {
	label, suffix, ok := strings.Cut(domain, ".")
	if !ok {
		return nil
	}
	var out []Sibling
	seen := map[string]bool{suffix: true}
	for _, s := range siblingSuffixes {
		if seen[s] {
			continue
		}
		seen[s] = true
		name := label + "." + s
		for _, h := range m.Lookup(name, nil) {
			if h.Start == 0 && h.Block != 0 && h.Allow == 0 {
				out = append(out, Sibling{Category: m.Categories()[blocklists.LowestCategory(h.Block)], Domain: name})
			}
		}
	}
	return out
}
