package resolver

import (
	"context"
	"errors"
)

// Handler answers a query by filling q.Answer (and q.Rcode), or passes it on.
type Handler interface {
	Resolve(ctx context.Context, q *Query) error
}

// Stage is one link of the chain: a Handler with a name for logs and tests.
type Stage interface {
	Handler
	Name() string
}

// errWouldBlock tells the UDP reader to run the query again where it may wait.
var errWouldBlock = errors.New("resolver: would block")

// buildChain assembles the query path in its fixed order. The cache stage
// ends the chain: behind it is the upstream, which it asks on a miss.
func buildChain(s *Server) Handler {
	s.cacheStage = &cacheStage{s: s}
	policy := &policyStage{s: s, next: s.cacheStage}
	identify := &identifyStage{next: policy}
	return &sanityStage{next: identify}
}

var (
	_ Stage = (*sanityStage)(nil)
	_ Stage = (*identifyStage)(nil)
	_ Stage = (*policyStage)(nil)
	_ Stage = (*cacheStage)(nil)
)
