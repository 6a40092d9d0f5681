package upstream

import (
	"sync"
	"time"
)

// RTT keeps a server's smoothed round-trip time and its variation (RFC
// 6298): for the retransmission timeout of its UDP queries (a lost packet
// costs a few round trips, not the whole timeout), and for the recursive
// resolver's choice of the fastest server of a zone.
type RTT struct {
	mu     sync.Mutex
	srtt   time.Duration
	rttvar time.Duration
	seeded bool
}

// Observe takes one round trip's time (never a retransmitted query's:
// Karn's rule is the caller's).
func (e *RTT) Observe(sample time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.seeded {
		e.srtt, e.rttvar, e.seeded = sample, sample/2, true
		return
	}
	diff := e.srtt - sample
	if diff < 0 {
		diff = -diff
	}
	e.rttvar = (3*e.rttvar + diff) / 4
	e.srtt = (7*e.srtt + sample) / 8
}

// Estimate is the smoothed RTT and its variation; ok is false before the
// first sample.
func (e *RTT) Estimate() (srtt, rttvar time.Duration, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srtt, e.rttvar, e.seeded
}

// RTO is the retransmission timeout: smoothed RTT plus four times its
// variation, within [lo, hi]; initial before the first sample.
func (e *RTT) RTO(initial, lo, hi time.Duration) time.Duration {
	srtt, rttvar, ok := e.Estimate()
	if !ok {
		return initial
	}
	return min(max(srtt+4*rttvar, lo), hi)
}
