package leases

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func parseFile(t *testing.T, name string) ([]Lease, int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Detect(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	list, skipped, err := Parse(bytes.NewReader(data), f, time.UTC)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return list, skipped
}

// Each format's sample: who held which address when, malformed lines
// skipped and counted.
func TestEachFormat(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time { v, _ := time.Parse("2006-01-02 15:04", s); return v }
	cases := []struct {
		file, addr, when, mac, host string
		skipped                     int
	}{
		{"kea-leases4.csv", "10.20.3.4", "2026-12-07 09:30", "00:11:22:33:44:55", "laptop-17.city.example", 1},
		{"kea-leases4.csv", "10.20.3.6", "2026-12-07 08:30", "", "", 1}, // released (valid_lifetime 0)
		{"kea-leases6.csv", "2001:db8:20::17", "2026-12-07 08:30", "00:11:22:33:44:55", "laptop-17", 0},
		{"dhcpd.leases", "10.30.1.20", "2026-12-07 12:00", "aa:bb:cc:00:11:22", "parks-desk-3", 1},
		{"dhcpd.leases", "10.30.1.20", "2026-12-07 21:00", "", "", 1}, // ended
		{"dhcpd.leases", "10.30.1.21", "2026-12-07 08:00", "", "", 1}, // binding state free
		{"dnsmasq.leases", "10.40.0.50", "2026-12-07 07:30", "de:ad:be:ef:00:01", "kiosk-1", 1},
		{"dnsmasq.leases", "10.40.0.51", "2030-01-01 00:00", "de:ad:be:ef:00:02", "", 1}, // infinite
		{"dnsmasq.leases", "2001:db8:40::51", "2026-12-07 07:30", "", "phone-4", 1},
		{"DhcpSrvLog-Mon.log", "10.50.2.9", "2026-12-07 13:00", "00:11:22:aa:bb:cc", "LIB-PC-04.city.example", 1},
		{"DhcpSrvLog-Mon.log", "10.50.2.9", "2026-12-07 17:10", "", "", 1}, // released
		{"DhcpSrvLog-Mon.log", "10.50.2.9", "2026-12-07 18:00", "00:11:22:dd:ee:ff", "LIB-LAPTOP-1.city.example", 1},
		{"DhcpSrvLog-Mon.log", "10.50.2.9", "2026-12-07 08:00", "", "", 1}, // before the first assignment
	}
	for _, c := range cases {
		list, skipped := parseFile(t, c.file)
		l := NewTable(list).At(netip.MustParseAddr(c.addr), at(c.when))
		mac, host := "", ""
		if l != nil {
			mac, host = l.MAC, l.Hostname
		}
		if mac != c.mac || host != c.host || skipped != c.skipped {
			t.Errorf("%s %s at %s: %q %q (%d skipped); want %q %q (%d)", c.file, c.addr, c.when, mac, host, skipped, c.mac, c.host, c.skipped)
		}
	}
	if _, err := Detect([]byte("<html>")); err == nil {
		t.Error("an HTML page taken for a lease file")
	}
}

// FuzzParse: any bytes, in any format, give leases or skipped lines, never
// a crash; and every lease has an address.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"kea-leases4.csv", "kea-leases6.csv", "dhcpd.leases", "dnsmasq.leases", "DhcpSrvLog-Mon.log"} {
		data, _ := os.ReadFile(filepath.Join("testdata", name))
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{Kea, ISC, Dnsmasq, Windows} {
			list, _, _ := Parse(bytes.NewReader(data), format, time.UTC)
			for _, l := range list {
				if !l.Addr.IsValid() {
					t.Fatalf("%s: a lease without an address: %+v", format, l)
				}
			}
			NewTable(list).At(netip.MustParseAddr("10.0.0.1"), time.Now())
		}
		Detect(data)
	})
}

func BenchmarkAt(b *testing.B) {
	list, _ := parseFile(&testing.T{}, "kea-leases4.csv")
	tab := NewTable(list)
	addr := netip.MustParseAddr("10.20.3.4")
	at := time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if tab.At(addr, at) == nil {
			b.Fatal("no lease")
		}
	}
}
