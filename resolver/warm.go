package resolver

import (
	"sync"
	"sync/atomic"

	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
)

// Net/http runs every DoH request on a goroutine of its own, born with a
// small stack: growing it to the depth of the chain (policy decision,
// cache, answer) cost an eighth of DoH's CPU. So the handler hands the
// query to a worker whose stack has already grown and waits for it; when
// every worker is busy (an upstream exchange) and there are as many as
// allowed, it answers the query itself.

// maxWarmWorkers bounds the workers kept for DoH queries.
const maxWarmWorkers = 256

// warmPool is the DoH handlers' workers.
type warmPool struct {
	jobs    chan *warmJob // to an idle worker (unbuffered)
	workers atomic.Int32
	wg      sync.WaitGroup
	free    sync.Pool // *warmJob, each with its done channel
}

// warmJob is one query handed to a worker, and what became of it.
type warmJob struct {
	q      *query.Query
	reply  bool
	maxAge uint32 // the answer's freshness (its lowest TTL), for Cache-Control
	done   chan struct{}
}

// answerDoH answers a DoH query and records it (unless rate-limited:
// the handler answers HTTP 429).
func (s *Server) answerDoH(j *warmJob) {
	j.reply, _ = s.handlePacket(j.q)
	if j.reply && j.q.Decision.Action != policy.Limited {
		s.record(s.metrics, j.q.FillRecord(s.now()))
		j.maxAge = minTTL(j.q.Answer)
	}
}

// handleWarm is answerDoH on a worker's grown stack: whether there is an
// answer, and its freshness.
func (s *Server) handleWarm(q *query.Query) (reply bool, maxAge uint32) {
	j, _ := s.warm.free.Get().(*warmJob)
	if j == nil {
		j = &warmJob{done: make(chan struct{}, 1)}
	}
	j.q = q
	select {
	case s.warm.jobs <- j:
	default:
		if s.warm.workers.Add(1) > maxWarmWorkers {
			s.warm.workers.Add(-1)
			s.answerDoH(j)
			return s.putWarm(j)
		}
		s.warm.wg.Add(1)
		go s.warmWorker(j)
	}
	<-j.done
	return s.putWarm(j)
}

// putWarm keeps j for the next query and returns what it said.
func (s *Server) putWarm(j *warmJob) (bool, uint32) {
	reply, maxAge := j.reply, j.maxAge
	*j = warmJob{done: j.done}
	s.warm.free.Put(j)
	return reply, maxAge
}

// warmWorker answers j, then each job handed to it until the server's
// life ends (after every DoH handler has returned).
func (s *Server) warmWorker(j *warmJob) {
	defer func() {
		s.warm.workers.Add(-1)
		s.warm.wg.Done()
	}()
	for {
		s.answerDoH(j)
		j.done <- struct{}{}
		select {
		case j = <-s.warm.jobs:
		case <-s.ctx.Done():
			return
		}
	}
}
