// Command hierarchy serves a signed DNS hierarchy on loopback for make
// bench's recursion runs: the root, the TLD "bench." and -zones leaf zones
// (zone0.bench. …), each with -names names (h0 … h999: 100,000 distinct
// names by default) and a wildcard (*.w), spread over -servers leaf servers, every zone
// signed (ECDSA P-256, NSEC) and on port 53 of its own 127.77.x.y address,
// as recursion asks. It writes root.hints and anchor.ds into -out and runs
// until killed.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/civicdns/civicdns/internal/authtest"
	"github.com/miekg/dns"
)

// program is authtest.TB for a program: failures end it.
type program struct {
	dir      string
	cleanups []func()
}

func (p *program) Helper()                      {}
func (p *program) Fatal(args ...any)            { log.Fatal(args...) }
func (p *program) Fatalf(f string, args ...any) { log.Fatalf(f, args...) }
func (p *program) Cleanup(f func())             { p.cleanups = append(p.cleanups, f) }
func (p *program) TempDir() string              { return p.dir }

func main() {
	out := flag.String("out", "bench/out/hierarchy", "folder for root.hints and anchor.ds")
	zones := flag.Int("zones", 100, "leaf zones")
	servers := flag.Int("servers", 4, "leaf servers")
	names := flag.Int("names", 1000, "names in each leaf zone")
	port := flag.Int("port", 53, "port of every server")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	p := &program{dir: *out}
	h := authtest.NewOn(p, *port)
	soa := "@ SOA ns.invalid. admin.invalid. 1 3600 600 86400 300\n"
	rootAddr, tldAddr := h.Addr(), h.Addr()
	leafAddrs := make([]string, *servers)
	for i := range leafAddrs {
		leafAddrs[i] = h.Addr()
	}
	leafZones := make([][]*authtest.Zone, *servers)
	tld := authtest.NewZone(p, "bench.", soa+"@ NS ns\nns A "+tldAddr+"\n")
	for k := 0; k < *zones; k++ {
		name := fmt.Sprintf("zone%d.bench.", k)
		addr := leafAddrs[k%*servers]
		text := soa + fmt.Sprintf("@ NS ns\nns A %s\nwww A 192.0.2.%d\n*.w A 198.51.100.%d\n", addr, k%250+1, k%250+1)
		for i := 0; i < *names; i++ {
			text += fmt.Sprintf("h%d A 10.%d.%d.%d\n", i, k%250, i/250, i%250)
		}
		z := authtest.NewZone(p, name, text)
		z.Sign(p, authtest.SignOptions{})
		leafZones[k%*servers] = append(leafZones[k%*servers], z)
		tld.Add(mustRR(name + " NS ns." + name))
		tld.Add(mustRR("ns." + name + " A " + addr))
		tld.Add(z.DS())
	}
	tld.Sign(p, authtest.SignOptions{})
	root := authtest.NewZone(p, ".", soa+"@ NS a.root.\na.root. A "+rootAddr+"\nbench. NS ns.bench.\nns.bench. A "+tldAddr+"\n")
	root.Add(tld.DS())
	root.Sign(p, authtest.SignOptions{})
	h.Serve(rootAddr, root)
	h.Serve(tldAddr, tld)
	for i, a := range leafAddrs {
		h.Serve(a, leafZones[i]...)
	}
	hints := h.RootHints(map[string]string{"a.root.": rootAddr})
	anchor := h.Anchor(root)
	for src, dst := range map[string]string{hints: "root.hints", anchor: "anchor.ds"} {
		if src != filepath.Join(*out, dst) {
			if err := os.Rename(src, filepath.Join(*out, dst)); err != nil {
				log.Fatal(err)
			}
		}
	}
	fmt.Printf("serving: root %s, bench. %s, %d zones on %v, port %d\n", rootAddr, tldAddr, *zones, leafAddrs, *port)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
}

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		log.Fatal(err)
	}
	return rr
}
