package resolver

import (
	"context"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
)

// accessStage refuses clients outside [server] allow (by default loopback
// and every department's networks): REFUSED with Extended DNS Error 18
// (Prohibited). Nothing is resolved or looked up in the cache for them,
// so the server is no open resolver: no amplification, no cache probing.
type accessStage struct {
	next query.Handler
}

func (st *accessStage) Name() string { return "access" }

// edeProhibited is RFC 8914's code 18.
const edeProhibited = 18

func (st *accessStage) Resolve(ctx context.Context, q *query.Query) error {
	if q.Snap.Policy.Served(q.Client.Addr()) {
		return st.next.Resolve(ctx, q)
	}
	q.Decision.Action = policy.Refused
	q.ErrorAnswer(dnswire.RcodeRefused, edeProhibited, "not a client of this resolver")
	return nil
}
