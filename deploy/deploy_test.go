package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed (apt-get install %s; make test installs it)", name, pkg)
	}
	return p
}

// The unit passes systemd-analyze verify (its ExecStart pointed at a real
// binary: verify checks the program exists).
func TestUnitVerifies(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile("civicdns.service")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "civicdns")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/civicdns").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	text := strings.ReplaceAll(string(unit), "/usr/bin/civicdns", bin)
	path := filepath.Join(dir, "civicdns.service")
	os.WriteFile(path, []byte(text), 0o644)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	// Warnings about the environment of a container (no D-Bus, no users) are
	// not the unit's; anything naming the unit file is.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "civicdns.service") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
	if err != nil && strings.Contains(string(out), "civicdns.service") {
		t.Errorf("verify failed: %v\n%s", err, out)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "ProtectSystem=strict", "StateDirectory=civicdns", "User=civicdns"} {
		if !strings.Contains(text, want) {
			t.Errorf("the unit lacks %s", want)
		}
	}
}

// The alert rules load, and fire as their unit tests say.
func TestAlertRules(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	if out, err := exec.Command(promtool, "check", "rules", "prometheus/civicdns-alerts.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	cmd := exec.Command(promtool, "test", "rules", "civicdns-alerts_test.yml")
	cmd.Dir = "prometheus"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}
