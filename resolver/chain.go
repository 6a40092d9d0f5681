package resolver

import (
	"github.com/civicdns/civicdns/query"
)

// buildChain assembles the query path in its fixed order:
//
//	access → sanity → identify → local → policy → safe search → cache → upstream
//
// Each stage is given what it uses and nothing more; everything that a
// reload may change comes with the query (q.Snap). The upstream is the
// chain's last link: the cache asks it on a miss (and for prefetches), and
// so may any stage put in its place. See query.Stage for the run-twice rule
// every stage before the cache follows.
func (s *Server) buildChain() query.Handler {
	up := &upstreamStage{life: s.ctx, now: s.now}
	c := &cacheStage{
		store: s.cache, next: up, metrics: s.metrics, log: s.log, background: &s.background,
	}
	safe := &safeSearchStage{next: c}
	pol := &policyStage{next: safe}
	local := &localStage{next: pol, ddr: s.answerDDR}
	identify := &identifyStage{next: local}
	sanity := &sanityStage{next: identify}
	access := &accessStage{next: sanity}
	s.stages = []query.Stage{access, sanity, identify, local, pol, safe, c, up}
	return access
}

var (
	_ query.Stage = (*sanityStage)(nil)
	_ query.Stage = (*accessStage)(nil)
	_ query.Stage = (*identifyStage)(nil)
	_ query.Stage = (*localStage)(nil)
	_ query.Stage = (*policyStage)(nil)
	_ query.Stage = (*safeSearchStage)(nil)
	_ query.Stage = (*cacheStage)(nil)
	_ query.Stage = (*upstreamStage)(nil)
	_ fetcher     = (*upstreamStage)(nil)
)
