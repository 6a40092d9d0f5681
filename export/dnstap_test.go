package export

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/query"
	dnstap "github.com/dnstap/golang-dnstap"
	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"
)

// A dnstap reader (golang-dnstap's Frame Streams input, as dnstap-read and
// collectors use) on a unix socket receives every query and its answer as
// CLIENT_QUERY and CLIENT_RESPONSE with the wire bytes, address and port.
func TestDnstapToAReader(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "dnstap.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	in := dnstap.NewFrameStreamSockInput(ln)
	frames := make(chan []byte, 10)
	go in.ReadInto(frames)
	d, err := NewDnstap(&config.Config{Log: config.Log{Dnstap: "unix:" + sock}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; ln.Close() }()
	q, _ := dnstest.Query("www.example.com", dns.TypeA).Pack()
	resp := new(dns.Msg)
	resp.SetReply(dnstest.Query("www.example.com", dns.TypeA))
	a, _ := resp.Pack()
	now := time.Now()
	d.Record(&query.Record{Time: now, Client: netip.MustParseAddr("10.20.3.4"), ClientPort: 53001, Transport: "tls", Elapsed: time.Millisecond,
		Query: q, Response: a})
	var got []*dnstap.Message
	for len(got) < 2 {
		select {
		case f := <-frames:
			var dt dnstap.Dnstap
			if err := proto.Unmarshal(f, &dt); err != nil {
				t.Fatal(err)
			}
			got = append(got, dt.Message)
		case <-time.After(15 * time.Second):
			t.Fatalf("%d dnstap messages arrived", len(got))
		}
	}
	qm, rm := got[0], got[1]
	if qm.GetType() != dnstap.Message_CLIENT_QUERY || string(qm.QueryMessage) != string(q) || net.IP(qm.QueryAddress).String() != "10.20.3.4" ||
		qm.GetQueryPort() != 53001 || qm.GetSocketProtocol() != dnstap.SocketProtocol_DOT {
		t.Errorf("CLIENT_QUERY: %v", qm)
	}
	if rm.GetType() != dnstap.Message_CLIENT_RESPONSE || string(rm.ResponseMessage) != string(a) || rm.GetResponseTimeSec() != uint64(now.Add(time.Millisecond).Unix()) {
		t.Errorf("CLIENT_RESPONSE: %v", rm)
	}
	if d.Dropped() != 0 {
		t.Errorf("%d dropped", d.Dropped())
	}
}

// Recording a query for dnstap allocates nothing (the messages are encoded
// by the writer, off the query path), and a full batch drops and counts
// both messages of a record rather than grow.
func TestDnstapRecordDoesNotAllocate(t *testing.T) {
	d, err := NewDnstap(&config.Config{Log: config.Log{Dnstap: "unix:" + filepath.Join(t.TempDir(), "none.sock")}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := dnstest.Query("www.example.com", dns.TypeA).Pack()
	r := &query.Record{Time: time.Now(), Client: netip.MustParseAddr("10.20.1.7"), ClientPort: 5353, Transport: "udp", Query: q, Response: q}
	if n := testing.AllocsPerRun(1000, func() { d.Record(r) }); n != 0 {
		t.Errorf("%.1f allocations a record", n)
	}
	for range tapBatchRecords {
		d.Record(r)
	}
	if got := d.Dropped(); got < 2*1001 {
		t.Errorf("dropped %d messages with the batch full, want at least %d", got, 2*1001)
	}
}
