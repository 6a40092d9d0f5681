package deploy

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
)

// testVersion is the version deb.sh is given in the tests: an installed
// package of any other version is a real installation, left alone.
const testVersion = "9.9.9"

// installAndServe installs the package with dpkg -i as an administrator
// would, checks what the maintainer scripts made (the civicdns system user,
// its state folder, the configuration readable by it alone), runs the
// unit's own ExecStart as that user with the configuration moved to
// loopback (there is no systemd to start it in CI), asks it over DNS, and
// purges the package again.
//
// Installing needs root: as root (CI) the commands run as they are, as
// anyone else through sudo -n, as `make test` installs its packages.
func installAndServe(t *testing.T, deb string) {
	tool(t, "dpkg", "dpkg")
	tool(t, "setpriv", "util-linux")
	if os.Geteuid() != 0 {
		if out, err := exec.Command("sudo", "-n", "true").CombinedOutput(); err != nil {
			t.Fatalf("installing the package needs root: run the tests as root or with password-less sudo (%v: %s)", err, out)
		}
	}
	if v, err := exec.Command("dpkg-query", "-W", "-f", "${Status} ${Version}", "civicdns").Output(); err == nil &&
		strings.HasPrefix(string(v), "install ok installed") && !strings.HasSuffix(string(v), " "+testVersion) {
		t.Fatalf("a civicdns package (%s) is installed on this machine: the test would replace it; remove it (dpkg --purge civicdns) or run the tests elsewhere", v)
	}
	_, userErr := user.Lookup("civicdns")
	hadUser := userErr == nil
	_, stateErr := os.Stat("/var/lib/civicdns")
	hadState := stateErr == nil

	if out, err := asRoot("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := asRoot("dpkg", "--purge", "civicdns").CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge: %v\n%s", err, out)
		}
		if _, err := os.Stat("/usr/bin/civicdns"); err == nil {
			t.Error("/usr/bin/civicdns is still there after dpkg --purge")
		}
		if !hadState {
			asRoot("rm", "-rf", "/var/lib/civicdns").Run()
		}
		if !hadUser {
			asRoot("deluser", "--system", "civicdns").Run()
		}
	})

	u, err := user.Lookup("civicdns")
	if err != nil {
		t.Fatalf("the package made no civicdns user: %v", err)
	}
	if st, err := os.Stat("/var/lib/civicdns"); err != nil || st.Mode().Perm() != 0o700 ||
		itoa(st.Sys().(*syscall.Stat_t).Uid) != u.Uid {
		t.Errorf("/var/lib/civicdns should be civicdns's, mode 0700: %v %v", st.Mode(), err)
	}
	conf := "/etc/civicdns/civicdns.toml"
	if st, err := os.Stat(conf); err != nil || st.Mode().Perm() != 0o640 || itoa(st.Sys().(*syscall.Stat_t).Gid) != u.Gid {
		t.Errorf("%s should be mode 0640, group civicdns (it may hold a database password): %v", conf, err)
	}

	// The unit's ExecStart, with its configuration moved to loopback on a
	// port the kernel picks.
	unit, err := os.ReadFile("/lib/systemd/system/civicdns.service")
	if err != nil {
		t.Fatal(err)
	}
	var execStart []string
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			execStart = strings.Fields(v)
		}
	}
	if len(execStart) == 0 || execStart[0] != "/usr/bin/civicdns" {
		t.Fatalf("the installed unit's ExecStart: %q", execStart)
	}
	text, err := asRoot("cat", conf).Output() // 0640 root:civicdns
	if err != nil {
		t.Fatal(err)
	}
	local := strings.NewReplacer(`["0.0.0.0:53", "[::]:53"]`, `["127.0.0.1:0"]`, `"127.0.0.1:9153"`, `""`).Replace(string(text))
	dir, err := os.MkdirTemp("", "civicdns-installed-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	localConf := filepath.Join(dir, "civicdns.toml")
	if err := os.WriteFile(localConf, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--reuid=civicdns", "--regid=civicdns", "--init-groups"}, execStart...)
	for i, a := range args {
		if a == conf {
			args[i] = localConf
		}
	}
	cmd := asRoot("setpriv", args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec struct {
				Msg   string   `json:"msg"`
				Addrs []string `json:"addrs"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "serving DNS" && len(rec.Addrs) > 0 {
				addr <- rec.Addrs[0]
			}
		}
		exited <- cmd.Wait()
	}()
	var a string
	select {
	case a = <-addr:
	case err := <-exited:
		t.Fatalf("the installed civicdns, run as the civicdns user, exited: %v", err)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the installed civicdns did not start serving DNS within 30 s")
	}
	r, err := dnstest.TryExchange("udp", a, dnstest.Query("www.pokerstars.com", dns.TypeA))
	if err != nil || r.Rcode != dns.RcodeNameError {
		t.Errorf("the installed service's answer to a gambling site: %v %v", r, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the installed civicdns on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Error("the installed civicdns did not stop within 30 s of SIGTERM")
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// asRoot is the command run as root: itself when the tests are root, else
// through sudo -n (sudo relays the signals the test sends).
func asRoot(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command(name, args...)
	}
	return exec.Command("sudo", append([]string{"-n", name}, args...)...)
}
