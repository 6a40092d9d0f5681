package upstream

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
)

// Kind is why an exchange failed. The resolver maps it to an rcode and an
// Extended DNS Error (RFC 8914) in one place; a Group uses it to decide
// whether another server may do better.
type Kind int

// The kinds of failure.
const (
	KindOther          Kind = iota // anything else (a malformed answer, a bad configuration)
	KindTimeout                    // no answer in time
	KindNetwork                    // the server could not be reached (connection refused, unreachable)
	KindRefused                    // the server answered REFUSED
	KindServFail                   // the server answered SERVFAIL
	KindBogus                      // DNSSEC validation failed
	KindSigExpired                 // DNSSEC: the signatures have expired
	KindSigNotYetValid             // DNSSEC: the signatures are not valid yet
)

var kindNames = [...]string{"other", "timeout", "network", "refused", "servfail", "bogus", "sig_expired", "sig_not_yet_valid"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "other"
}

// Failover reports whether another server may give a better answer: yes
// for failures of one server (timeouts, network errors, SERVFAIL, REFUSED),
// no for DNSSEC failures: a bogus answer is bogus from every server, and
// trying the next one would only hand an attacker more chances.
func (k Kind) Failover() bool {
	switch k {
	case KindBogus, KindSigExpired, KindSigNotYetValid:
		return false
	}
	return true
}

// Error is a failed exchange with one upstream (or, from a Group, the last
// failure after every member was tried).
type Error struct {
	Kind     Kind
	Upstream string // its address
	Err      error
}

func (e *Error) Error() string { return e.Upstream + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// KindOf classifies an error from an exchange: the Kind of an *Error in its
// chain, else timeouts and network errors by their type.
func KindOf(err error) Kind {
	var ue *Error
	var ne net.Error
	switch {
	case err == nil:
		return KindOther
	case errors.As(err, &ue):
		return ue.Kind
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return KindTimeout
	case errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.As(err, new(*net.OpError)):
		return KindNetwork
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EADDRNOTAVAIL):
		return KindNetwork
	}
	return KindOther
}

// wrap makes err an *Error of upstream addr, classified by KindOf.
func wrap(addr string, err error) error {
	var ue *Error
	if errors.As(err, &ue) {
		return err
	}
	return &Error{Kind: KindOf(err), Upstream: addr, Err: err}
}
