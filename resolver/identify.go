package resolver

import (
	"context"

	"github.com/civicdns/civicdns/query"
)

// identifyStage finds the client's department: an enrolled device's own
// (wherever it is), or the one with the longest network prefix containing
// the client's address (none: the citywide policy alone). A device whose
// department was removed from the configuration gets the citywide policy;
// `civicdns check` says so.
type identifyStage struct {
	next query.Handler
}

func (st *identifyStage) Name() string { return "identify" }

func (st *identifyStage) Resolve(ctx context.Context, q *query.Query) error {
	if q.Device != nil {
		q.Dept = q.Snap.Policy.DepartmentByKey(q.Device.DeptKey)
	} else {
		q.Dept = q.Snap.Policy.Department(q.Client.Addr())
	}
	return st.next.Resolve(ctx, q)
}
