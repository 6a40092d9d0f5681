package leases

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The watcher follows a lease file as the DHCP server rewrites it, keeps
// the last good leases when it becomes unreadable, and says so.
func TestWatcherFollowsAndKeepsTheLastGood(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "dnsmasq.leases")
	os.WriteFile(path, []byte("0 de:ad:be:ef:00:01 10.40.0.50 kiosk-1 *\n"), 0o644)
	w := NewWatcher([]string{filepath.Join(dir, "*.leases"), filepath.Join(dir, "missing.csv")}, time.UTC, nil, nil)
	addr := netip.MustParseAddr("10.40.0.50")
	if name, mac := w.Device(addr, time.Now()); name != "kiosk-1" || mac != "de:ad:be:ef:00:01" {
		t.Fatalf("at start: %q %q", name, mac)
	}
	// The server rewrites the file: another device holds the address.
	os.WriteFile(path, []byte("0 de:ad:be:ef:00:09 10.40.0.50 kiosk-2 *\n0 de:ad:be:ef:00:0a 10.40.0.60 *  *\n"), 0o644)
	os.Chtimes(path, time.Now().Add(time.Second), time.Now().Add(time.Second))
	w.Refresh()
	if name, _ := w.Device(addr, time.Now()); name != "kiosk-2" {
		t.Fatalf("after the rewrite: %q", name)
	}
	if name, mac := w.Device(netip.MustParseAddr("10.40.0.60"), time.Now()); name != "de:ad:be:ef:00:0a" || mac != name {
		t.Fatalf("a lease without a host name is named by its MAC: %q %q", name, mac)
	}
	// Unreadable: the last good leases stay, and the status says why.
	os.WriteFile(path, []byte("<html>not a lease file</html>"), 0o644)
	os.Chtimes(path, time.Now().Add(2*time.Second), time.Now().Add(2*time.Second))
	w.Refresh()
	if name, _ := w.Device(addr, time.Now()); name != "kiosk-2" {
		t.Fatalf("the last good table was not kept: %q", name)
	}
	var bad, missing bool
	for _, s := range w.Status() {
		bad = bad || s.Path == path && s.Error != "" && s.Leases == 2
		missing = missing || filepath.Base(s.Path) == "missing.csv" && s.Error != ""
	}
	if !bad || !missing {
		t.Fatalf("status: %+v", w.Status())
	}
}
