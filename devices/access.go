package devices

import (
	"errors"
	"net/netip"
	"strconv"

	"github.com/civicdns/civicdns/config"
)

// Access is what a device is configured with to reach the resolver from
// anywhere, its token in each.
type Access struct {
	DoH     string // https://NAME[:PORT]/dns-query/TOKEN ("" without https_listen)
	TLSName string // TOKEN.NAME: the DoT and DoQ server name
	DoT     bool   // tls_listen is served, on DoTPort
	DoTPort int
	DoQ     bool // quic_listen is served, on DoQPort
	DoQPort int
}

// ErrNoName is why no device can be enrolled: the token travels in a name
// under [server] name, and the resolver's certificate must cover it.
var ErrNoName = errors.New("[server] name is not set: a device's DoH URL and DoT name are under it (set name, and issue the certificate with `civicdns ca issue -name NAME`, which covers *.NAME)")

// AccessFor is the device access for token, on the encrypted listeners of srv.
func AccessFor(srv *config.Server, token string) (Access, error) {
	if srv.Name == "" {
		return Access{}, ErrNoName
	}
	if len(srv.HTTPSAddrs) == 0 && len(srv.TLSAddrs) == 0 && len(srv.QUICAddrs) == 0 {
		return Access{}, errors.New("no encrypted listener: set [server] https_listen, tls_listen or quic_listen, which a roaming device uses")
	}
	a := Access{TLSName: token + "." + srv.Name, DoT: len(srv.TLSAddrs) > 0, DoTPort: firstPort(srv.TLSAddrs),
		DoQ: len(srv.QUICAddrs) > 0, DoQPort: firstPort(srv.QUICAddrs)}
	if len(srv.HTTPSAddrs) > 0 {
		p := firstPort(srv.HTTPSAddrs)
		host := srv.Name
		if p != 443 {
			host += ":" + strconv.Itoa(p)
		}
		a.DoH = "https://" + host + "/dns-query/" + token
	}
	return a, nil
}

func firstPort(addrs []netip.AddrPort) int {
	if len(addrs) == 0 {
		return 0
	}
	return int(addrs[0].Port())
}
