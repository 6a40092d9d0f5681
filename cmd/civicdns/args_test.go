package main

import (
	"bytes"
	"github.com/civicdns/civicdns/state"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A positional argument is the configuration file; anything a command
// cannot use is an error with its usage, never ignored.
func TestThePositionalArgumentIsTheConfiguration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := writeFile(t, dir, "my.toml", "[cache]\nsize = -1\n")
	good := writeFile(t, dir, "good.toml", "[server]\nlisten = [\"127.0.0.1:5353\"]\n[upstream]\nservers = [\"192.0.2.1\"]\n")
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"check", bad}, 1, "", "my.toml:2"},                     // the file named, not the embedded default
		{[]string{"check", good}, 0, "good.toml: OK", ""},                // and a good one passes
		{[]string{"check", good, "-config", good}, 2, "", "given twice"}, // both ways at once
		{[]string{"check", good, bad}, 2, "", "one configuration file at most"},
		{[]string{"check", "-nosuch"}, 2, "", "flag provided but not defined"},
		{[]string{"serve", bad}, 1, "", "my.toml:2"},
		{[]string{"audit", filepath.Join(dir, "nostate.toml"), "extra"}, 2, "", "one configuration file at most"},
		{[]string{"passwd", "-h"}, 0, "usage: civicdns passwd", ""},
		{[]string{"passwd", "extra"}, 2, "", "takes no argument"},
		{[]string{"version", "x"}, 2, "", "takes no argument"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) {
			t.Errorf("%v: exit %d (want %d)\nstdout %s\nstderr %s", tc.args, code, tc.code, out.String(), errb.String())
		}
	}
}

// Filter values that name nothing are errors that list the valid ones;
// -since takes days.
func TestUnknownFilterValuesAreErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "querylog"), 0o700)
	cfg := writeFile(t, dir, "civicdns.toml", "[upstream]\nservers = [\"192.0.2.1\"]\n[log]\ndir = \"querylog\"\n"+
		"[[department]]\nname = \"Police\"\nnetworks = [\"10.20.0.0/16\"]\n[[department]]\nname = \"Parks\"\nnetworks = [\"10.30.0.0/16\"]\n")
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"logs", "-config", cfg, "-department", "NoSuch"}, 2, `-department "NoSuch" names nothing; the valid values: Police, Parks`},
		{[]string{"logs", "-config", cfg, "-action", "bogus"}, 2, "the valid values: allowed, blocked, exempted, local, refused, malformed"},
		{[]string{"logs", "-config", cfg, "-category", "x"}, 2, "gambling"},
		{[]string{"report", "-config", cfg, "-department", "NoSuch"}, 2, "the valid values: Police, Parks"},
		{[]string{"logs", "-config", cfg, "-department", "police", "-category", "gambling", "-since", "7d"}, 0, ""},
		{[]string{"report", cfg, "-since", "7d"}, 0, ""},
		{[]string{"logs", "-config", cfg, "-since", "7y"}, 2, "not a duration"},
	} {
		var out, errb bytes.Buffer
		if code := run(tc.args, &out, &errb); code != tc.code || !strings.Contains(errb.String(), tc.err) {
			t.Errorf("%v: exit %d (want %d): %s", tc.args, code, tc.code, errb.String())
		}
	}
}

// check fails on what serve would fail on (a missing CA, a damaged state
// journal); an address it cannot bind now is a warning.
func TestCheckFailsOnWhatServeFailsOn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	base := "[server]\nlisten = [\"" + busy.LocalAddr().String() + "\"]\n[upstream]\nservers = [\"192.0.2.1\"]\n"
	noCA := writeFile(t, dir, "noca.toml", base+"[blockpage]\ntls_listen = \"127.0.0.1:0\"\nca_cert = \"nosuch/ca.pem\"\nca_key = \"nosuch/ca.key\"\n")
	var out, errb bytes.Buffer
	if code := run([]string{"check", noCA}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "ca.pem") {
		t.Errorf("a missing CA: exit %d, %s", code, errb.String())
	}
	stateDir := filepath.Join(dir, "state")
	os.MkdirAll(stateDir, 0o700)
	os.WriteFile(filepath.Join(stateDir, "workflow.journal"), []byte("12 {\"kind\":\"x\"} 00000000\n"), 0o600)
	damaged := writeFile(t, dir, "damaged.toml", base+"[state]\ndir = \"state\"\n")
	errb.Reset()
	if code := run([]string{"check", damaged}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "the record at byte 0 is damaged") {
		t.Errorf("a damaged journal: exit %d, %s", code, errb.String())
	}
	good := writeFile(t, dir, "good.toml", base)
	errb.Reset()
	if code := run([]string{"check", good}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "warning: server.listen") {
		t.Errorf("an address in use: exit %d, %s", code, errb.String())
	}
}

// access suspend of a network wider than /24 asks for -force and says
// which departments it touches; -by must name a [[director]], and the OS
// user who ran the command is recorded beside it.
func TestShellDecisionsNameADirectorAndWideSuspensionsAskForForce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[upstream]\nservers = [\"192.0.2.1\"]\n[state]\ndir = \"state\"\n"+
		"[[department]]\nname = \"Police\"\nnetworks = [\"10.20.0.0/16\"]\n[[department]]\nname = \"Parks\"\nnetworks = [\"10.30.0.0/16\"]\n"+
		testDirector("Chief of Police", "Police"))
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"access", "-config", cfg, "suspend", "-client", "10.0.0.0/8", "-by", "Chief of Police", "-reason", "r"}, 2, "", "touches 2 department(s) (Police, Parks)"},
		{[]string{"access", "-config", cfg, "suspend", "-client", "10.20.3.4", "-reason", "r"}, 2, "", "-by NAME is needed"},
		{[]string{"access", "-config", cfg, "suspend", "-client", "10.20.3.4", "-by", "Mallory", "-reason", "r"}, 2, "", `-by "Mallory" is not a [[director]]`},
		{[]string{"access", "-config", cfg, "suspend", "-client", "10.20.3.0/24", "-by", "chief of police", "-reason", "r"}, 0, "suspended 10.20.3.0/24", ""},
		{[]string{"access", "-config", cfg, "suspend", "-client", "10.0.0.0/8", "-by", "Chief of Police", "-reason", "r", "-force"}, 0, "suspended 10.0.0.0/8", ""},
	} {
		var out, errb bytes.Buffer
		if code := run(tc.args, &out, &errb); code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) {
			t.Errorf("%v: exit %d (want %d)\n%s%s", tc.args, code, tc.code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	run([]string{"audit", cfg}, &out, &errb)
	if !strings.Contains(out.String(), "Chief of Police ("+osUser()+")") {
		t.Errorf("the audit trail does not name the director and the OS user:\n%s", out.String())
	}
}

// Every time a person reads is in the city's zone with its zone's name.
func TestTimesAreShownInTheCitysZone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[upstream]\nservers = [\"192.0.2.1\"]\n[state]\ndir = \"state\"\n[policy]\ntimezone = \"America/Chicago\"\n")
	store, _ := state.Open(filepath.Join(dir, "state"), nil)
	if _, err := store.Submit(state.Request{Client: netip.MustParseAddr("10.20.1.1"), Name: "www.casino.example", Category: "gambling",
		Matched: "casino.example", Requester: "Pat", Email: "pat@city.example", Reason: "fraud case 12"}); err != nil {
		t.Fatal(err)
	}
	zoned := regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d C[SD]T`)
	for _, args := range [][]string{{"exemptions", cfg, "list"}, {"audit", cfg}} {
		var out, errb bytes.Buffer
		if args[0] == "exemptions" {
			args = []string{"exemptions", "-config", cfg, "list"}
		}
		if code := run(args, &out, &errb); code != 0 || !zoned.MatchString(out.String()) {
			t.Errorf("%v: exit %d, no time in the city's zone:\n%s%s", args, code, out.String(), errb.String())
		}
	}
}
