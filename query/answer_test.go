package query

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/civicdns/civicdns/upstream"
	"github.com/miekg/dns"
)

func TestFailureFor(t *testing.T) {
	t.Parallel()
	up := func(k upstream.Kind) error {
		return fmt.Errorf("%w: %w", upstream.ErrAllFailed, &upstream.Error{Kind: k, Upstream: "192.0.2.10:53", Err: errors.New("x")})
	}
	for _, tc := range []struct {
		err  error
		ede  uint16
		text string
	}{
		{up(upstream.KindTimeout), dns.ExtendedErrorCodeNoReachableAuthority, "upstream 192.0.2.10:53 timed out"},
		{context.DeadlineExceeded, dns.ExtendedErrorCodeNoReachableAuthority, "timed out"},
		{up(upstream.KindNetwork), dns.ExtendedErrorCodeNetworkError, "upstream 192.0.2.10:53 unreachable"},
		{up(upstream.KindRefused), dns.ExtendedErrorCodeProhibited, "upstream 192.0.2.10:53 refused the query"},
		{up(upstream.KindServFail), dns.ExtendedErrorCodeNoReachableAuthority, "upstream 192.0.2.10:53 answered SERVFAIL"},
		{up(upstream.KindBogus), dns.ExtendedErrorCodeDNSBogus, "DNSSEC validation failed"},
		{up(upstream.KindSigExpired), dns.ExtendedErrorCodeSignatureExpired, "DNSSEC signature expired"},
		{up(upstream.KindSigNotYetValid), dns.ExtendedErrorCodeSignatureNotYetValid, "DNSSEC signature not yet valid"},
		{errors.New("something else"), dns.ExtendedErrorCodeOther, "resolution failed"},
		{nil, dns.ExtendedErrorCodeOther, "resolution failed"},
	} {
		f := FailureFor(tc.err)
		if f.Rcode != dns.RcodeServerFailure || f.EDE != int(tc.ede) || f.Text != tc.text {
			t.Errorf("%v: rcode %d EDE %d %q, want SERVFAIL EDE %d %q", tc.err, f.Rcode, f.EDE, f.Text, tc.ede, tc.text)
		}
	}
}
