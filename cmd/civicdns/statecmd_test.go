package main

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/state"
)

// A damaged record stops serve with the file and the offset; state verify
// says so (exit 1); state repair keeps a copy, rewrites the journal with
// its intact records and audits it; serve then starts.
func TestDamagedStateStopsServeUntilRepaired(t *testing.T) {
	t.Parallel()
	cfg, store := withStateStore(t)
	stateDir := store.Dir()
	if _, err := store.Suspend(netip.MustParsePrefix("10.20.3.4/32"), "Chief", "", "investigation", "", config.Date{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(stateDir, state.WorkflowFile)
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 0x08
	os.WriteFile(path, data, 0o600)

	var out, errb bytes.Buffer
	if code := run([]string{"serve", "-config", cfg}, &out, &errb); code != 1 || !strings.Contains(errb.String(), path+": the record at byte 0 is damaged") {
		t.Fatalf("serve on a damaged journal: exit %d, %s", code, errb.String())
	}
	out.Reset()
	if code := run([]string{"state", "-config", cfg, "verify"}, &out, &errb); code != 1 || !strings.Contains(out.String(), "DAMAGED: the record at byte 0") {
		t.Fatalf("state verify: exit %d, %s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"state", "-config", cfg, "repair"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "kept the damaged file as "+path+".damaged-") {
		t.Fatalf("state repair: exit %d, %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"state", "-config", cfg, "verify"}, &out, &errb); code != 0 {
		t.Fatalf("state verify after repair: exit %d, %s", code, out.String())
	}
	ev, err := store.AuditSince(time.Time{})
	if err != nil || len(ev) == 0 || ev[len(ev)-1].Action != "state-repair" {
		t.Errorf("the repair is not in the audit trail: %v %+v", err, ev)
	}
	d := startDaemon(t, cfg)
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Fatalf("serve after the repair: %v", err)
	}
}

// A request whose fields hold newlines and ESC sequences is printed with
// them escaped by `exemptions list` and `audit`: no forged line, no
// terminal control.
func TestTypedFieldsCannotForgeOutput(t *testing.T) {
	t.Parallel()
	cfg, store := withStateStore(t)
	forged := "ok\n2026-12-02T09:15:00Z  approve          Chief of Police                from shell           all clear\x1b[2J\x1b[31m\u202e"
	if _, err := store.Submit(state.Request{Client: netip.MustParseAddr("10.20.1.1"), Name: "www.casino.example", Category: "gambling",
		Matched: "casino.example", Requester: forged, Email: "pat@city.example", Reason: forged}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"exemptions", "-config", cfg, "list"}, {"audit", "-config", cfg}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, errb.String())
		}
		text := out.String()
		if strings.ContainsAny(text, "\x1b\u202e") || strings.Contains(text, "\n2026-12-02T09:15:00Z  approve") {
			t.Errorf("%v printed a forged line or a control character:\n%q", args, text)
		}
		if !strings.Contains(text, `ok\n2026-12-02T09:15:00Z`) || !strings.Contains(text, `\x1b[2J`) {
			t.Errorf("%v does not show the escaped field:\n%s", args, text)
		}
	}
}

// civicdns status asks the running server over its console's listener,
// from this machine without a sign-in, and says what it runs; with no
// server there it says so and exits 1.
func TestStatusAsksTheRunningServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := ln.Addr().String()
	ln.Close() // a free port for the console (the CLI reads it from the configuration)
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\"127.0.0.1:9\"]\n"+
		"[state]\ndir = \"state\"\n[admin]\nlisten = \""+admin+"\"\n[[department]]\nname = \"Police\"\nnetworks = [\"10.20.0.0/16\"]\n"+testDirector("Chief of Police", "Police"))
	var out, errb bytes.Buffer
	if code := run([]string{"status", cfg}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no civicdns server answers on "+admin) {
		t.Fatalf("with no server: exit %d, %s", code, errb.String())
	}
	store, _ := state.Open(filepath.Join(dir, "state"), nil)
	store.Submit(state.Request{Client: netip.MustParseAddr("10.20.1.1"), Department: "Police", Name: "www.casino.example", Category: "gambling",
		Matched: "casino.example", Requester: "Pat", Email: "pat@city.example", Reason: "fraud case 12"})
	d := startDaemon(t, cfg)
	t.Cleanup(func() { d.cmd.Process.Signal(syscall.SIGTERM); d.cmd.Wait() })
	out.Reset()
	errb.Reset()
	if code := run([]string{"status", cfg}, &out, &errb); code != 0 {
		t.Fatalf("status: exit %d, %s", code, errb.String())
	}
	for _, want := range []string{"civicdns: serving", "dns ", d.addr, "console", admin, "policy loaded:", "state store:      files", "pending requests police", "exemptions in force: 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}

// withStateStore writes a configuration with a state store in a folder of
// the test's, and opens that store.
func withStateStore(t *testing.T) (string, *state.Store) {
	t.Helper()
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\"127.0.0.1:9\"]\n[state]\ndir = \""+stateDir+"\"\n")
	store, err := state.Open(stateDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, store
}
