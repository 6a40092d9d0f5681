package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civicdns/civicdns/export"
	"github.com/civicdns/civicdns/internal/dnstest"
	dnstap "github.com/dnstap/golang-dnstap"
	"google.golang.org/protobuf/proto"
)

// With [log] leases, every record names the device that held the client
// address when the query was answered, from the DHCP server's own lease
// file re-read as it changes: `logs -device` and `-mac` find them, and
// `explain -client` says who holds the address now.
func TestLeasesNameTheDevice(t *testing.T) {
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	leaseFile := filepath.Join(dir, "dnsmasq.leases")
	os.WriteFile(leaseFile, []byte(fmt.Sprintf("%d 00:11:22:33:44:55 127.0.0.1 laptop-17 *\n", time.Now().Add(time.Hour).Unix())), 0o644)
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n"+
		"[log]\ndir = \"querylog\"\nleases = [\"dnsmasq.leases\"]\n")
	d := startDaemon(t, cfg)
	dnstest.Dig(t, d.addr, "+short", "www.example.com", "A")
	dnstest.Dig(t, d.addr, "+short", "www.pokerstars.com", "A") // blocked: the report counts it for laptop-17
	// The DHCP server gives the address to another device.
	os.WriteFile(leaseFile, []byte(fmt.Sprintf("%d 00:11:22:33:44:66 127.0.0.1 tablet-9 *\n", time.Now().Add(time.Hour).Unix())), 0o644)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var out, errb bytes.Buffer
		run([]string{"explain", "-config", cfg, "-client", "127.0.0.1", "www.example.org"}, &out, &errb)
		if strings.Contains(out.String(), "tablet-9 (00:11:22:33:44:66) holds 127.0.0.1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("explain does not name the new holder:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond) // the file's new time must differ from the last read's
		os.Chtimes(leaseFile, time.Now(), time.Now())
	}
	// The server follows the change within its poll (2 s).
	for i := 0; ; i++ {
		dnstest.Dig(t, d.addr, "+short", fmt.Sprintf("n%d.example.com", i), "A")
		var out, errb bytes.Buffer
		run([]string{"logs", "-config", cfg, "-device", "TABLET-9"}, &out, &errb)
		if strings.Contains(out.String(), "tablet-9") {
			break
		}
		if i > 100 {
			t.Fatal("the server never named the new holder")
		}
		time.Sleep(100 * time.Millisecond) // a query every 100 ms until the lease file is re-read
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.waitLog(t, "stopped")
	d.cmd.Wait()
	var out, errb bytes.Buffer
	if code := run([]string{"logs", "-config", cfg, "-mac", "00-11-22-33-44-55", "-json"}, &out, &errb); code != 0 {
		t.Fatalf("logs -mac: %s", errb.String())
	}
	var first map[string]any // the oldest: logs lists the newest first
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	json.Unmarshal([]byte(lines[len(lines)-1]), &first)
	if first["name"] != "www.example.com" || first["device"] != "laptop-17" || first["mac"] != "00:11:22:33:44:55" {
		t.Fatalf("the first record names the device that held the address then: %v\n%s", first, out.String())
	}
	if code := run([]string{"logs", "-config", cfg, "-mac", "nonsense"}, &out, &errb); code != 2 {
		t.Errorf("a bad -mac: %d", code)
	}
	out.Reset()
	if code := run([]string{"report", "-config", cfg}, &out, &errb); code != 0 || !strings.Contains(out.String(), "devices with most blocked lookups") ||
		!strings.Contains(out.String(), "laptop-17") {
		t.Errorf("report by device:\n%s", out.String())
	}
}

// The SIEM sees a blocked lookup (not an allowed one) with the device
// named from the DHCP leases, as RFC 5424 over TCP with octet counting,
// and a dnstap reader every query and answer, from the real serve process.
func TestSyslogNamesTheDeviceToTheSIEM(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	msgs := make(chan string, 100)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		export.ReadOctetCounted(c, func(msg []byte) bool { msgs <- string(msg); return true })
	}()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	tapLn, err := net.Listen("unix", filepath.Join(dir, "dnstap.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer tapLn.Close()
	frames := make(chan []byte, 100)
	go dnstap.NewFrameStreamSockInput(tapLn).ReadInto(frames)
	os.WriteFile(filepath.Join(dir, "dnsmasq.leases"), []byte(fmt.Sprintf("%d 00:11:22:33:44:55 127.0.0.1 laptop-17 *\n", time.Now().Add(time.Hour).Unix())), 0o644)
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n"+
		"[log]\nleases = [\"dnsmasq.leases\"]\ndir = \"querylog\"\nsyslog = \"tcp://"+ln.Addr().String()+"\"\ndnstap = \"unix:dnstap.sock\"\n")
	d := startDaemon(t, cfg)
	dnstest.Dig(t, d.addr, "+short", "www.example.com", "A")    // allowed: not sent
	dnstest.Dig(t, d.addr, "+short", "www.pokerstars.com", "A") // blocked: sent
	select {
	case m := <-msgs:
		if !strings.Contains(m, `device="laptop-17" mac="00:11:22:33:44:55"`) || !strings.Contains(m, `name="www.pokerstars.com"`) || !strings.Contains(m, `action="blocked"`) {
			t.Fatalf("the SIEM got:\n%s", m)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("nothing reached the SIEM")
	}
	select {
	case f := <-frames:
		var dt dnstap.Dnstap
		if err := proto.Unmarshal(f, &dt); err != nil || dt.Message.GetType() != dnstap.Message_CLIENT_QUERY {
			t.Fatalf("the dnstap reader got %v (%v)", dt.Message, err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("nothing reached the dnstap reader")
	}
}
