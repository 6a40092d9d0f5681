package resolver

import (
	"context"

	"github.com/civicdns/civicdns/query"
)

// identifyStage finds the client's department: the one with the longest
// network prefix containing its address (none: the citywide policy alone).
type identifyStage struct {
	next query.Handler
}

func (st *identifyStage) Name() string { return "identify" }

func (st *identifyStage) Resolve(ctx context.Context, q *query.Query) error {
	q.Dept = q.Snap.Policy.Department(q.Client.Addr())
	return st.next.Resolve(ctx, q)
}
