package main

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/daemon"
	"github.com/civicdns/civicdns/internal/citytime"
)

// cmdStatus asks the running server, over its console's listener (from
// this machine: no sign-in), how it is, and prints it.
func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("status", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	asJSON := fl.Bool("json", false, "the status as JSON")
	if err := parseWithConfig(fl, cfgPath, args); err != nil {
		return usageError(fl, err)
	}
	cfg, errs := config.LoadPath(*cfgPath)
	if err := errs.Err(); err != nil {
		fmt.Fprintf(stderr, "civicdns status: %v\n", err)
		return 1
	}
	if cfg.Admin.Listen == "" {
		fmt.Fprintf(stderr, "civicdns status: %s has no [admin] listen: status asks the running server over the console's listener\n", cfg.File)
		return 1
	}
	body, err := fetchStatus(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns status: no civicdns server answers on %s: %v\n", cfg.Admin.Listen, err)
		return 1
	}
	if *asJSON {
		stdout.Write(body)
		return 0
	}
	var st daemon.Status
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintf(stderr, "civicdns status: the server's answer does not read: %v\n", err)
		return 1
	}
	printStatus(stdout, &st, cfg.Policy.Location)
	return 0
}

// fetchStatus GETs /api/v1/status from the console on this machine.
func fetchStatus(cfg *config.Config) ([]byte, error) {
	host, port, err := net.SplitHostPort(cfg.Admin.Listen)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 5 * time.Second}
	scheme := "http"
	if roots, ok := consoleRoots(cfg); ok {
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: cmp.Or(cfg.Server.Name, host)}}
	}
	resp, err := client.Get(scheme + "://" + net.JoinHostPort(host, port) + "/api/v1/status")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return body, err
}

// consoleRoots are the certificates the console's TLS is checked against
// (its own certificate, or the city CA that made it); false: plain HTTP.
func consoleRoots(cfg *config.Config) (*x509.CertPool, bool) {
	file := cfg.Admin.TLSCert
	if file == "" && cfg.Server.Name != "" && cfg.Blockpage.CACert != "" && cfg.Blockpage.CAKey != "" {
		file = cfg.Blockpage.CACert
	}
	if file == "" {
		return nil, false
	}
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(cfg.Path(file)); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	return pool, true
}

// printStatus prints the status for a person.
func printStatus(w io.Writer, st *daemon.Status, loc *time.Location) {
	state := "serving"
	if st.Draining {
		state = "shutting down"
	}
	fmt.Fprintf(w, "civicdns: %s (asked %s)\n", state, citytime.Format(st.Time, loc))
	parts := make([]string, 0, len(st.Listeners))
	for part := range st.Listeners {
		parts = append(parts, part)
	}
	sort.Strings(parts)
	for _, p := range parts {
		fmt.Fprintf(w, "  %-16s %s\n", p, st.Listeners[p])
	}
	fmt.Fprintf(w, "policy loaded:    %s\n", citytime.Format(st.Reload.LoadedAt, loc))
	if st.Reload.LastError != "" {
		fmt.Fprintf(w, "LAST RELOAD FAILED (%s): %s\n", citytime.Format(st.Reload.LastErrorTime, loc), esc(st.Reload.LastError))
	}
	for _, l := range st.Lists {
		fmt.Fprintf(w, "list %-12s %s: %s %s %s\n", l.Category, l.URL, l.Result, citytime.Format(l.Time, loc), esc(l.Error))
	}
	for part, why := range st.Degraded {
		fmt.Fprintf(w, "DEGRADED %s: %s\n", part, esc(why))
	}
	for _, l := range st.Leases {
		note := ""
		if l.Error != "" {
			note = "; UNREADABLE, its last good leases kept: " + esc(l.Error)
		}
		fmt.Fprintf(w, "lease file:       %s, %d leases%s\n", l.Path, l.Leases, note)
	}
	if s := st.State; s != nil {
		db := "files"
		switch {
		case s.Shared && s.Online:
			db = "PostgreSQL online"
		case s.Shared:
			db = "PostgreSQL AWAY (decisions wait)"
		}
		fmt.Fprintf(w, "state store:      %s, %d waiting in the outbox\n", db, s.Queued)
		if m := st.Mail; m != nil {
			fmt.Fprintf(w, "mail outbox:      %d notifications waiting%s\n", m.Waiting, lastErrNote(m.LastError))
		}
		depts := make([]string, 0, len(s.Pending))
		for d := range s.Pending {
			depts = append(depts, d)
		}
		sort.Strings(depts)
		for _, d := range depts {
			fmt.Fprintf(w, "  pending requests %-12s %d\n", cmp.Or(d, "(citywide)"), s.Pending[d])
		}
	}
	if q := st.QueryLog; q != nil {
		fmt.Fprintf(w, "query log:        %d records dropped since start\n", q.Dropped)
	}
	fmt.Fprintf(w, "exemptions in force: %d\n", st.Exemptions)
}

func lastErrNote(err string) string {
	if err == "" {
		return ""
	}
	return "; last failure: " + esc(err)
}
