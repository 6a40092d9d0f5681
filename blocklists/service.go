package blocklists

import (
	"fmt"
	"regexp"

	"github.com/civicdns/civicdns/config"
)

// Service is one named service of a category's catalogue: chat is every
// messenger with all its domains, so that a city approves "microsoft_teams"
// rather than a list of names, and a block says "Telegram", not only "chat".
type Service struct {
	ID       string // what [policy] approved_chat names
	Name     string // what people read: the block page, explain, the log
	Kind     string // a grouping for `lists services` ("secure messenger")
	Category string
	Domains  []string // each with its subdomains
	Where    string   // file:line of its [[service]]
	Index    int      // in Set.Services: what Matcher.Service gives
}

// serviceEntry is one [[service]] as written in a list file.
type serviceEntry struct {
	ID      string   `toml:"id"`
	Name    string   `toml:"name"`
	Kind    string   `toml:"kind"`
	Domains []string `toml:"domains"`
}

var serviceIDRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// checkServices validates a list file's [[service]] entries.
func (pf *parsedFile) checkServices() config.Errors {
	var errs config.Errors
	seen := map[string]bool{}
	for i, s := range pf.Service {
		key := fmt.Sprintf("service[%d]", i)
		bad := func(sub, format string, args ...any) {
			errs = append(errs, config.Error{File: pf.display, Line: pf.pos.Line(key + sub), Msg: fmt.Sprintf(format, args...)})
		}
		switch {
		case !serviceIDRe.MatchString(s.ID):
			bad(".id", "service id %q: lower case letters, digits and _, starting with a letter", s.ID)
		case seen[s.ID]:
			bad(".id", "service id %q is given twice", s.ID)
		}
		seen[s.ID] = true
		if s.Name == "" {
			bad("", "service %q needs a name (what the block page shows)", s.ID)
		}
		if len(s.Domains) == 0 {
			bad("", "service %q has no domains", s.ID)
		}
		lines := elementLines(pf.text, pf.pos.Line(key+".domains"), s.Domains)
		for j, d := range s.Domains {
			if n, err := config.NormalizeName(d); err != nil || n == "" {
				errs = append(errs, config.Error{File: pf.display, Line: lines[j], Msg: fmt.Sprintf("service %q: %q is not a domain name", s.ID, d)})
			}
		}
	}
	return errs
}

// addServices puts a file's services in the set and their domains in the
// category's block list, each name remembering its service.
func (set *Set) addServices(b *Builder, pf *parsedFile, fileIdx int, c *Category) config.Errors {
	var errs config.Errors
	for i, se := range pf.Service {
		key := fmt.Sprintf("service[%d]", i)
		if prev := set.ServiceByID[se.ID]; prev != nil {
			errs = append(errs, config.Error{File: pf.display, Line: pf.pos.Line(key + ".id"),
				Msg: fmt.Sprintf("service id %q is also given at %s", se.ID, prev.Where)})
			continue
		}
		index := len(set.Services)
		s := &Service{ID: se.ID, Name: se.Name, Kind: se.Kind, Category: pf.Category, Index: index,
			Where: fmt.Sprintf("%s:%d", pf.display, pf.pos.Line(key))}
		lines := elementLines(pf.text, pf.pos.Line(key+".domains"), se.Domains)
		for j, d := range se.Domains {
			n, _ := config.NormalizeName(d) // checked when read
			if other, ok := b.AddService([]byte(n), pf.Category, index, fileIdx, lines[j]); !ok {
				errs = append(errs, config.Error{File: pf.display, Line: lines[j],
					Msg: fmt.Sprintf("%s is in service %q and in %q: a name belongs to one service", n, se.ID, set.Services[other].ID)})
				continue
			}
			s.Domains = append(s.Domains, n)
			c.Blocked++
		}
		set.Services = append(set.Services, s)
		set.ServiceByID[s.ID] = s
	}
	return errs
}

// ServiceIndex is the index in Set.Services of a service id, or -1.
func (set *Set) ServiceIndex(id string) int {
	if s := set.ServiceByID[id]; s != nil {
		return s.Index
	}
	return -1
}
