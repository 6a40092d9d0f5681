package main

import (
	"bytes"
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
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\"127.0.0.1:9\"]\n[state]\ndir = \""+stateDir+"\"\n")
	store, err := state.Open(stateDir, nil)
	if err != nil {
		t.Fatal(err)
	}
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
