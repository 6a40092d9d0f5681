package authtest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/civicdns/civicdns/dnssec"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
)

// Hierarchy is a set of authoritative servers on loopback, one address
// each (127.77.N.1, 127.77.N.2, …), all on one port.
type Hierarchy struct {
	t    TB
	Port int
	net  int
	n    int
	mu   sync.Mutex
}

var nets atomic.Int32

// New picks a free port for a hierarchy of servers.
func New(t TB) *Hierarchy {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	return &Hierarchy{t: t, Port: port, net: int(nets.Add(1)%250) + 1}
}

// NewOn is New on a given port (make bench serves its hierarchy on 53, where
// Unbound asks too).
func NewOn(t TB, port int) *Hierarchy {
	return &Hierarchy{t: t, Port: port, net: int(nets.Add(1)%250) + 1}
}

// Addr reserves the next server address.
func (h *Hierarchy) Addr() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	return fmt.Sprintf("127.77.%d.%d", h.net, h.n)
}

// Server is one authoritative server: the zones it serves at its address.
type Server struct {
	Addr    string
	zones   []*Zone
	rewrite atomic.Pointer[Rewrite]
	queries atomic.Int64
	mu      sync.Mutex
	seen    []dns.Question
}

// Rewrite changes an answer before it is sent (udp tells the transport);
// returning nil sends nothing.
type Rewrite func(udp bool, q, r *dns.Msg) *dns.Msg

// SetRewrite makes the server change its answers with f from now on.
func (s *Server) SetRewrite(f Rewrite) { s.rewrite.Store(&f) }

// Queries is how many queries the server has had.
func (s *Server) Queries() int64 { return s.queries.Load() }

// Seen lists the questions the server has had, in order.
func (s *Server) Seen() []dns.Question {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dns.Question(nil), s.seen...)
}

// Serve starts a server at addr (from Addr) for zones, on UDP and TCP,
// until the test ends.
func (h *Hierarchy) Serve(addr string, zones ...*Zone) *Server {
	h.t.Helper()
	s := &Server{Addr: addr, zones: zones}
	hp := net.JoinHostPort(addr, fmt.Sprint(h.Port))
	pc, err := net.ListenPacket("udp", hp)
	if err != nil {
		h.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", hp)
	if err != nil {
		h.t.Fatal(err)
	}
	dnstest.Serve(h.t, &dns.Server{PacketConn: pc, Handler: s})
	dnstest.Serve(h.t, &dns.Server{Listener: ln, Handler: s})
	return s
}

// ServeDNS answers from the zone that holds the question (for DS, the
// parent's side of a cut when the server has both).
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	s.queries.Add(1)
	if len(r.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	s.mu.Lock()
	s.seen = append(s.seen, q)
	s.mu.Unlock()
	do := r.IsEdns0() != nil && r.IsEdns0().Do()
	var zone *Zone
	qname := dns.CanonicalName(q.Name)
	for _, z := range s.zones {
		if !dns.IsSubDomain(z.Origin, qname) || q.Qtype == dns.TypeDS && z.Origin == qname && qname != "." && len(s.zones) > 1 && s.serves(dnssec.Parent(qname)) {
			continue
		}
		if zone == nil || dns.CountLabel(z.Origin) > dns.CountLabel(zone.Origin) {
			zone = z
		}
	}
	var m *dns.Msg
	if zone == nil {
		m = new(dns.Msg)
		m.Rcode = dns.RcodeRefused
	} else {
		m = zone.Answer(q, do)
	}
	m.Id, m.Response, m.Opcode = r.Id, true, r.Opcode
	m.Question = r.Question // echoes the letter case asked (0x20)
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(1232, do)
	}
	_, udp := w.RemoteAddr().(*net.UDPAddr)
	if f := s.rewrite.Load(); f != nil {
		if m = (*f)(udp, r, m); m == nil {
			return
		}
	}
	w.WriteMsg(m)
}

func (s *Server) serves(name string) bool {
	for _, z := range s.zones {
		if dns.IsSubDomain(z.Origin, name) {
			return true
		}
	}
	return false
}

// RootHints writes a root hints file naming the root servers (name →
// address) and returns its path.
func (h *Hierarchy) RootHints(servers map[string]string) string {
	text := ""
	for name, addr := range servers {
		text += fmt.Sprintf(".\t3600000\tNS\t%s\n%s\t3600000\tA\t%s\n", dns.Fqdn(name), dns.Fqdn(name), addr)
	}
	p := filepath.Join(h.t.TempDir(), "root.hints")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// Anchor writes a trust anchor file with zone's DS and returns its path.
func (h *Hierarchy) Anchor(z *Zone) string {
	p := filepath.Join(h.t.TempDir(), "anchor.ds")
	if err := os.WriteFile(p, []byte(z.Anchor()), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}
