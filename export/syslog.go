package export

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/query"
	"github.com/civicdns/civicdns/state"
	"github.com/prometheus/client_golang/prometheus"
)

// queueLen bounds the messages waiting for the SIEM.
const queueLen = 50000

// Syslog is the [log] syslog sink: a query.Recorder for lookups, and
// Audit for the audit trail's events.
type Syslog struct {
	scheme, addr string
	tls          *tls.Config
	events       []string
	header       string // " HOST civicdns PID ": the same in every message
	log          *slog.Logger

	// Devices names the device that held a client address (the DHCP
	// leases), for the records a roaming token did not name (nil: none).
	Devices func(client netip.Addr, at time.Time) (name, mac string)

	queue     chan []byte
	connected atomic.Bool
	dropped   atomic.Uint64
	drops     prometheus.CounterFunc
}

// NewSyslog makes the sink of cfg's [log] syslog (nil when it is off).
func NewSyslog(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (*Syslog, error) {
	l := cfg.Log
	if l.Syslog == "" {
		return nil, nil
	}
	u, err := url.Parse(l.Syslog)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	s := &Syslog{scheme: u.Scheme, addr: u.Host, events: l.SyslogEvents, log: log, queue: make(chan []byte, queueLen),
		header: " " + orNil(host) + " civicdns " + strconv.Itoa(os.Getpid()) + " "}
	if u.Scheme == "tcp+tls" {
		s.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		if l.SyslogCACert != "" {
			pem, err := os.ReadFile(cfg.Path(l.SyslogCACert))
			if err != nil {
				return nil, fmt.Errorf("log.syslog_ca_cert: %w", err)
			}
			s.tls.RootCAs = x509.NewCertPool()
			s.tls.RootCAs.AppendCertsFromPEM(pem)
		}
	}
	s.drops = prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "civicdns_syslog_dropped_total", Help: "Syslog messages dropped: the queue to the SIEM was full."},
		func() float64 { return float64(s.dropped.Load()) })
	if reg != nil {
		reg.MustRegister(s.drops)
	}
	return s, nil
}

func (s *Syslog) wants(event string) bool {
	return slices.Contains(s.events, event) || event != "audit" && slices.Contains(s.events, "all")
}

// Record queues a lookup the configuration selects (blocked, exempted, or
// all): formatted here, sent by Run; never waits.
func (s *Syslog) Record(r *query.Record) {
	if !s.wants(r.Action) {
		return
	}
	sev := 6 // informational
	if r.Action == "blocked" {
		sev = 5 // notice
	}
	device, mac := r.Device, ""
	if device == "" && s.Devices != nil {
		device, mac = s.Devices(r.Client, r.Time)
	}
	sd := [][2]string{{"client", r.Client.String()}, {"device", device}, {"mac", mac}, {"department", r.Department}, {"name", string(r.Name)},
		{"type", strconv.Itoa(int(r.Type))}, {"category", r.Category}, {"action", r.Action}, {"transport", r.Transport}}
	s.push(s.format(r.Time, sev, "dns", sd, r.Action+" "+string(r.Name)+" "+r.Client.String()))
}

// Audit queues an audit event (when syslog_events has "audit").
func (s *Syslog) Audit(ev state.AuditEvent) {
	if !slices.Contains(s.events, "audit") {
		return
	}
	sd := [][2]string{{"who", ev.Who}, {"from", ev.From}, {"action", ev.Action}, {"what", ev.What}}
	s.push(s.format(ev.Time, 5, "audit", sd, ev.Action+" by "+ev.Who))
}

func (s *Syslog) push(b []byte) {
	select {
	case s.queue <- b:
	default:
		s.dropped.Add(1)
	}
}

// pen is the private enterprise number of the structured data's ID
// (32473: the one RFC 5612 reserves for documentation and examples).
const pen = "32473"

// format writes an RFC 5424 message: facility local0, the structured data
// as civicdns@PEN with each value escaped (", \\ and ]), the message text
// with control characters replaced. Appends, no fmt: it runs for every
// lookup with syslog_events "all".
func (s *Syslog) format(t time.Time, sev int, msgid string, sd [][2]string, msg string) []byte {
	b := make([]byte, 0, 256)
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(16*8+sev), 10)
	b = append(b, ">1 "...)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, s.header...) // " HOST civicdns PID "
	b = append(b, msgid...)
	b = append(b, " [civicdns@"+pen...)
	for _, kv := range sd {
		if kv[1] == "" {
			continue
		}
		b = append(b, ' ')
		b = append(b, kv[0]...)
		b = append(b, `="`...)
		for i := 0; i < len(kv[1]); i++ {
			if c := kv[1][i]; c == '"' || c == '\\' || c == ']' {
				b = append(b, '\\')
			}
			b = append(b, kv[1][i])
		}
		b = append(b, '"')
	}
	b = append(b, "] "...)
	for i := 0; i < len(msg); i++ {
		if c := msg[i]; c < 0x20 || c == 0x7f {
			b = append(b, '?')
		} else {
			b = append(b, c)
		}
	}
	return b
}

func orNil(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Run sends the queue until ctx ends: connected (TLS, TCP or UDP),
// reconnecting after a failure with a backoff from 1 s to a minute; a
// message whose sending failed is sent again on the next connection.
func (s *Syslog) Run(ctx context.Context) {
	wait := time.Second
	var pending [][]byte
	for ctx.Err() == nil {
		conn, err := s.dial(ctx)
		if err != nil {
			s.log.Warn("syslog: the SIEM cannot be reached; messages wait in the queue", "addr", s.addr, "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, time.Minute)
			continue
		}
		wait = time.Second
		gone := make(chan struct{})
		if s.scheme != "udp" {
			// A SIEM never writes back: a read that ends is its closing,
			// noticed before the next message is lost in the kernel's buffer.
			go func() {
				var b [64]byte
				for {
					if _, err := conn.Read(b[:]); err != nil {
						close(gone)
						return
					}
				}
			}()
		}
		s.connected.Store(true)
		pending = s.sendAll(ctx, conn, pending, gone)
		s.connected.Store(false)
		conn.Close()
	}
}

// maxBatch bounds the messages written in one system call.
const maxBatch = 256

// sendAll writes messages until ctx ends, the SIEM closes, or a write
// fails; it returns the messages not known to be sent (to send first on
// the next connection). Over TCP and TLS the messages waiting are written
// together, one system call for up to maxBatch: a write each cost more
// than the lookups they describe.
func (s *Syslog) sendAll(ctx context.Context, conn net.Conn, pending [][]byte, gone <-chan struct{}) [][]byte {
	var buf []byte
	for {
		batch := pending
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-gone:
				return nil
			case msg := <-s.queue:
				batch = append(batch, msg)
			}
		}
	more:
		for len(batch) < maxBatch {
			select {
			case msg := <-s.queue:
				batch = append(batch, msg)
			default:
				break more
			}
		}
		select {
		case <-gone:
			return batch
		default:
		}
		if err := s.write(conn, batch, &buf); err != nil {
			s.log.Warn("syslog: sending failed; reconnecting", "err", err)
			return batch
		}
		pending = nil
	}
}

// write sends a batch: octet-counted frames in one write (TCP, TLS), or
// a datagram each (UDP).
func (s *Syslog) write(conn net.Conn, batch [][]byte, buf *[]byte) error {
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if s.scheme == "udp" {
		for _, msg := range batch {
			if _, err := conn.Write(msg); err != nil {
				return err
			}
		}
		return nil
	}
	b := (*buf)[:0]
	for _, msg := range batch {
		b = strconv.AppendInt(b, int64(len(msg)), 10) // RFC 6587 octet counting
		b = append(b, ' ')
		b = append(b, msg...)
	}
	*buf = b
	_, err := conn.Write(b)
	return err
}

func (s *Syslog) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	switch s.scheme {
	case "tcp+tls":
		return (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, "tcp", s.addr)
	case "udp":
		return d.DialContext(ctx, "udp", s.addr)
	}
	return d.DialContext(ctx, "tcp", s.addr)
}

// Connected reports whether a connection to the SIEM is open now.
func (s *Syslog) Connected() bool { return s.connected.Load() }

// Dropped counts the messages dropped: the queue was full.
func (s *Syslog) Dropped() uint64 { return s.dropped.Load() }
