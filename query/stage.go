package query

import (
	"context"
	"errors"
)

// Handler answers a query by filling q.Answer (and q.Rcode), or passes it on.
type Handler interface {
	Resolve(ctx context.Context, q *Query) error
}

// Stage is one link of the chain: a Handler with a name for logs and tests.
//
// The run-twice rule. A UDP reader runs the chain with q.MayBlock false, so
// that cache hits, blocks and errors are answered without leaving the
// reader. A stage that would have to wait (the cache on a miss) returns
// ErrWouldBlock instead; the reader hands the query to a worker, which runs
// the chain again from the top with MayBlock true. So every stage before
// the one that waits runs twice for such a query: it must only compute
// (fill fields of q from q and its snapshot), never count, record, log or
// otherwise act before its next stage has returned without ErrWouldBlock.
// The server records each query exactly once, after the chain.
type Stage interface {
	Handler
	Name() string
}

// ErrWouldBlock tells the UDP reader to run the query again where it may wait.
var ErrWouldBlock = errors.New("query: would block")
