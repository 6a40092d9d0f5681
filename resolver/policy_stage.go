package resolver

import (
	"context"

	"github.com/civicdns/civicdns/policy"
)

// policyStage applies the policy: a blocked name is answered here and never
// reaches the cache or the upstream; an allowed answer whose CNAME chain
// leads to a blocked name is blocked too; departments with safe search get
// the search engines' safe hosts.
type policyStage struct {
	s    *Server
	next Handler
}

func (st *policyStage) Name() string { return "policy" }

func (st *policyStage) Resolve(ctx context.Context, q *Query) error {
	pol := q.snap.policy
	client := q.Client.Addr().Unmap()
	now := q.Received
	q.Decision = pol.Decide(q.Dept, client, nameString(q.Msg.Name), now)
	switch q.Decision.Action {
	case policy.Blocked:
		st.block(q)
		return nil
	case policy.Exempted:
		q.Action, q.Category = ActionExempted, q.Decision.Category
	}
	if q.Decision.SafeSearch != "" {
		return st.s.cacheStage.safeSearch(q, q.Decision.SafeSearch)
	}
	if err := st.next.Resolve(ctx, q); err != nil {
		return err
	}
	for _, target := range q.CNAMEs {
		if d := pol.Decide(q.Dept, client, target, now); d.Action == policy.Blocked {
			q.Decision = d
			st.block(q)
			return nil
		}
	}
	return nil
}

func (st *policyStage) block(q *Query) {
	q.Action, q.Category = ActionBlocked, q.Decision.Category
	q.Cached, q.Stale, q.CNAMEs = false, false, nil
	q.blockAnswer(&q.snap.cfg.Block, &q.Decision)
}
