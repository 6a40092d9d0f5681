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
//
// A query that carries a device token (DoH path, DoT/DoQ server name) is
// the enrolled device's wherever it comes from: the allow list does not
// apply to it. An unknown or revoked token is refused the same way.
type accessStage struct {
	next query.Handler
}

func (st *accessStage) Name() string { return "access" }

// edeProhibited is RFC 8914's code 18.
const edeProhibited = 18

func (st *accessStage) Resolve(ctx context.Context, q *query.Query) error {
	if !q.Token.IsZero() {
		if q.Device == nil {
			q.Device = q.Snap.Devices.Lookup(q.Token)
		}
		if q.Device != nil {
			return st.next.Resolve(ctx, q)
		}
		q.Decision.Action = policy.Refused
		q.ErrorAnswer(dnswire.RcodeRefused, edeProhibited, "unknown or revoked device token")
		return nil
	}
	if q.Served || q.Snap.Policy.Served(q.Client.Addr()) {
		return st.next.Resolve(ctx, q)
	}
	q.Decision.Action = policy.Refused
	q.ErrorAnswer(dnswire.RcodeRefused, edeProhibited, "not a client of this resolver")
	return nil
}
