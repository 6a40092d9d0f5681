package resolver

import (
	"context"

	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
)

// localStage answers the names that never leave the city (localhost, the
// private reverse zones, special-use names, wpad and isatap) from the
// policy snapshot's locally served zones: in forward and recursive mode
// alike, they reach neither the cache nor any upstream.
type localStage struct {
	next query.Handler
	ddr  func(*query.Query) bool // answers _dns.resolver.arpa when designated
}

func (st *localStage) Name() string { return "local" }

func (st *localStage) Resolve(ctx context.Context, q *query.Query) error {
	if st.ddr(q) {
		q.Decision = policy.DDRDecision()
		return nil
	}
	m := q.Snap.Policy.LocalMatch(q.Name())
	if !m.Local() {
		return st.next.Resolve(ctx, q)
	}
	q.Decision = policy.LocalDecision(m)
	q.LocalAnswer(m)
	return nil
}
