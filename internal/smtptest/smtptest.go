// Package smtptest runs a real SMTP server for tests (github.com/emersion/
// go-smtp) on loopback: STARTTLS with a certificate of its own, every
// message it accepts kept for the test to read; it can be stopped and
// started again on the same port (a mail relay that is down for a while).
package smtptest

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is a message the server accepted.
type Mail struct {
	From string
	To   []string
	Data string
}

// Server is a running SMTP server.
type Server struct {
	Addr   string // 127.0.0.1:PORT
	CACert string // the PEM its certificate verifies with
	tls    *tls.Config

	mu   sync.Mutex
	srv  *smtp.Server
	got  []Mail
	seen chan struct{}
	// user and password, when set, are required (AUTH PLAIN, over TLS).
	user, password string
}

// RequireAuth makes the server refuse mail from a client that has not
// authenticated as user with password.
func (s *Server) RequireAuth(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.password = user, password
}

// Start runs a server; it is stopped when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	certPath, keyPath, _ := dnstest.CertFiles(tb, "mail.city.example")
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{CACert: certPath, tls: &tls.Config{Certificates: []tls.Certificate{pair}}, seen: make(chan struct{}, 1000)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.serve(ln)
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) serve(ln net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain, srv.TLSConfig = "mail.city.example", s.tls
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go srv.Serve(ln)
}

// Stop closes the server (the mail relay is down).
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Restart serves again on the same address.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		tb.Fatal(err)
	}
	s.serve(ln)
}

// Wait returns the messages once there are at least n, or fails after 15 s.
func (s *Server) Wait(tb testing.TB, n int) []Mail {
	tb.Helper()
	deadline := time.After(15 * time.Second)
	for {
		s.mu.Lock()
		if len(s.got) >= n {
			out := append([]Mail(nil), s.got...)
			s.mu.Unlock()
			return out
		}
		have := len(s.got)
		s.mu.Unlock()
		select {
		case <-s.seen:
		case <-deadline:
			tb.Fatalf("%d messages arrived, want %d", have, n)
		}
	}
}

// Got returns the messages so far.
func (s *Server) Got() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.got...)
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s      *Server
	mail   Mail
	authed bool
}

// AuthMechanisms offers PLAIN (go-smtp offers it only over TLS).
func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth checks the credentials RequireAuth set.
func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		x.s.mu.Lock()
		defer x.s.mu.Unlock()
		if user != x.s.user || password != x.s.password {
			return errors.New("invalid credentials")
		}
		x.authed = true
		return nil
	}), nil
}

func (x *session) Reset()        { x.mail = Mail{} }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.s.mu.Lock()
	need := x.s.user != ""
	x.s.mu.Unlock()
	if need && !x.authed {
		return smtp.ErrAuthRequired
	}
	x.mail.From = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.mail.To = append(x.mail.To, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.mail.Data = string(b)
	x.s.mu.Lock()
	x.s.got = append(x.s.got, x.mail)
	x.s.mu.Unlock()
	select {
	case x.s.seen <- struct{}{}:
	default:
	}
	return nil
}
