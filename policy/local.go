package policy

import (
	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/localzones"
)

// Local is the action of a query answered from a locally served zone
// (localhost, private reverse zones, special-use names) or a wpad name:
// never sent upstream.
const Local = "local"

// compileLocal builds the locally served zones: the defaults less [server]
// local_zones_off, the city's [[upstream.zone]]s taking their subtrees.
func (p *Policy) compileLocal(cfg *config.Config, errs *config.Errors) {
	var forwarded []string
	for _, z := range cfg.Upstream.Zone {
		forwarded = append(forwarded, z.Name)
	}
	set, err := localzones.Compile(localzones.Options{Off: cfg.Server.LocalZonesOff, Forwarded: forwarded, BlockWPAD: cfg.Policy.BlockWPAD})
	if err != nil {
		*errs = append(*errs, cfg.ErrorAt("server.local_zones_off", "%v", err))
		return
	}
	p.local = set
}

// LocalZones is the set of names answered locally.
func (p *Policy) LocalZones() *localzones.Set { return p.local }

// LocalMatch says whether name is answered locally. It does not allocate.
func (p *Policy) LocalMatch(name string) localzones.Match { return p.local.Lookup(name) }

// LocalDecision is the decision recorded for a local answer: its rule says
// which zone (or the WPAD rule) answered.
func LocalDecision(m localzones.Match) Decision {
	d := Decision{Action: Local}
	switch {
	case m.WPAD:
		d.where = WPADWhere
	case m.Zone != nil:
		d.Matched, d.where = m.Zone.Name, m.Zone.Rule
	}
	return d
}

// DDRDecision is the decision recorded for the answer to _dns.resolver.arpa.
func DDRDecision() Decision {
	return Decision{Action: Local, Matched: "_dns.resolver.arpa", where: "built in: RFC 9462, the resolver's encrypted transports (DDR)"}
}

// WPADWhere is where the WPAD rule is written: in civicdns itself.
const WPADWhere = "built in: wpad and isatap, as Windows DNS's global query block list ([policy] block_wpad)"
