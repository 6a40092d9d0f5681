package resolver

import (
	"context"

	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
)

// policyStage applies the policy with the snapshot's exemptions: a blocked
// name is answered here and never reaches the cache or the upstream; an
// allowed answer whose CNAME chain leads to a blocked name is blocked too.
type policyStage struct {
	next query.Handler
}

func (st *policyStage) Name() string { return "policy" }

func (st *policyStage) Resolve(ctx context.Context, q *query.Query) error {
	client := q.Client.Addr().Unmap()
	q.Decision = q.Snap.Decide(q.Dept, client, q.Name(), q.Received)
	if q.Decision.Action == policy.Blocked {
		block(q)
		return nil
	}
	if err := st.next.Resolve(ctx, q); err != nil {
		return err
	}
	for _, target := range q.CNAMEs {
		if d := q.Snap.Decide(q.Dept, client, target, q.Received); d.Action == policy.Blocked {
			q.Decision = d
			block(q)
			return nil
		}
	}
	return nil
}

func block(q *query.Query) {
	q.Cached, q.Stale, q.CNAMEs, q.Err = false, false, nil, nil
	q.BlockAnswer(&q.Snap.Config.Block, &q.Decision)
}
