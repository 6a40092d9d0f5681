package dnssec

import (
	"strings"

	"github.com/miekg/dns"
)

// canon is a name in the form every comparison here uses: lower case, fully
// qualified.
func canon(name string) string { return dns.CanonicalName(name) }

// under reports whether name is zone or below it.
func under(name, zone string) bool { return dns.IsSubDomain(canon(zone), canon(name)) }

// Parent is name without its first label ("." for a top-level name and
// for the root).
func Parent(name string) string {
	if name == "." {
		return "."
	}
	i, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[i:]
}

// CanonicalCompare orders names as RFC 4034 §6.1 does: label by label from
// the right, each compared as lower-case bytes.
func CanonicalCompare(a, b string) int {
	la, lb := dns.SplitDomainName(canon(a)), dns.SplitDomainName(canon(b))
	for i, j := len(la)-1, len(lb)-1; i >= 0 || j >= 0; i, j = i-1, j-1 {
		switch {
		case i < 0:
			return -1
		case j < 0:
			return 1
		}
		if c := strings.Compare(unescape(la[i]), unescape(lb[j])); c != 0 {
			return c
		}
	}
	return 0
}

// unescape turns a presentation-format label into its bytes (\. and \DDD).
func unescape(label string) string {
	if !strings.Contains(label, `\`) {
		return label
	}
	var b strings.Builder
	for i := 0; i < len(label); i++ {
		c := label[i]
		if c == '\\' && i+3 < len(label) && isDigit(label[i+1]) && isDigit(label[i+2]) && isDigit(label[i+3]) {
			b.WriteByte((label[i+1]-'0')*100 + (label[i+2]-'0')*10 + (label[i+3] - '0'))
			i += 3
			continue
		}
		if c == '\\' && i+1 < len(label) {
			i++
			c = label[i]
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// LastLabels is the name made of name's last n labels ("." for none; name
// itself when it has fewer).
func LastLabels(name string, n int) string {
	labels := dns.SplitDomainName(name)
	n = min(max(n, 0), len(labels))
	return dns.Fqdn(strings.Join(labels[len(labels)-n:], "."))
}

// NextCloser is the name one label longer than ancestor on the way to name
// (RFC 5155's next closer name).
func NextCloser(name, ancestor string) string {
	return LastLabels(name, dns.CountLabel(ancestor)+1)
}

// wildcardOf is the wildcard name below a closest encloser.
func wildcardOf(ce string) string {
	if ce == "." {
		return "*."
	}
	return "*." + ce
}
