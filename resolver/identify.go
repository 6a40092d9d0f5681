package resolver

import "context"

// identifyStage finds the client's department: the one with the longest
// network prefix containing its address (none: the citywide policy alone).
type identifyStage struct {
	next Handler
}

func (st *identifyStage) Name() string { return "identify" }

func (st *identifyStage) Resolve(ctx context.Context, q *Query) error {
	q.Dept = q.snap.policy.Department(q.Client.Addr())
	if q.Dept != nil {
		q.Department = q.Dept.Name
	}
	return st.next.Resolve(ctx, q)
}
