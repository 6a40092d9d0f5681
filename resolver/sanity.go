package resolver

import (
	"context"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
)

// sanityStage refuses what civicdns does not serve, with the proper rcode:
// opcodes other than QUERY (NOTIMP), EDNS versions above 0 (BADVERS), OPT as
// a question type (FORMERR), and ANY, AXFR, IXFR or non-IN classes (REFUSED).
// Such queries are recorded as malformed (FORMERR) or refused, never as allowed.
type sanityStage struct {
	next query.Handler
}

func (st *sanityStage) Name() string { return "sanity" }

const (
	typeIXFR = 251
	typeAXFR = 252
	typeANY  = 255
	classIN  = 1
)

func (st *sanityStage) Resolve(ctx context.Context, q *query.Query) error {
	rcode := -1
	switch m := &q.Msg; {
	case m.Opcode() != 0:
		rcode = dnswire.RcodeNotImp
	case m.EDNS && m.Version > 0:
		rcode = dnswire.RcodeBadVers
	case m.QType == dnswire.TypeOPT:
		rcode = dnswire.RcodeFormErr
	case m.QType == typeANY || m.QType == typeAXFR || m.QType == typeIXFR || m.QClass != classIN:
		rcode = dnswire.RcodeRefused
	}
	if rcode < 0 {
		return st.next.Resolve(ctx, q)
	}
	q.Decision.Action = policy.Refused
	if rcode == dnswire.RcodeFormErr {
		q.Decision.Action = policy.Malformed
	}
	q.ErrorAnswer(rcode, -1, "")
	return nil
}
