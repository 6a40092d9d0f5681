package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// HTTPServer is an HTTP listener as a Component: the metrics endpoint now,
// the block page and the director console next.
type HTTPServer struct {
	name   string
	listen string
	tls    *tls.Config // nil: plain HTTP
	srv    *http.Server
	log    *slog.Logger
	ln     net.Listener
}

// NewHTTPServer makes a server for handler on listen (host:port).
func NewHTTPServer(name, listen string, handler http.Handler, log *slog.Logger) *HTTPServer {
	// Bounded in every way a slow or hostile client could hold a connection.
	return &HTTPServer{name: name, listen: listen, log: log, srv: &http.Server{
		Handler: handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
}

// WithTLS serves HTTPS with cfg.
func (h *HTTPServer) WithTLS(cfg *tls.Config) *HTTPServer {
	h.tls = cfg
	return h
}

// Name names the server in logs.
func (h *HTTPServer) Name() string { return h.name }

// Start binds the address and serves in the background.
func (h *HTTPServer) Start(context.Context) error {
	ln, err := net.Listen("tcp", h.listen)
	if err != nil {
		return err
	}
	if h.tls != nil {
		ln = tls.NewListener(ln, h.tls)
	}
	h.ln = ln
	go func() {
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("http server stopped", "server", h.name, "err", err)
		}
	}()
	h.log.Info("serving HTTP", "server", h.name, "listen", ln.Addr().String())
	return nil
}

// Addr is the bound address (after Start).
func (h *HTTPServer) Addr() net.Addr { return h.ln.Addr() }

// Shutdown stops accepting and waits for requests in flight (until ctx ends).
func (h *HTTPServer) Shutdown(ctx context.Context) error { return h.srv.Shutdown(ctx) }
