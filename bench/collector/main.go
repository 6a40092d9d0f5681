// Command collector is make bench's stand-in for a city's collectors: it
// reads dnstap over Frame Streams on a unix socket and syslog over TCP,
// and counts what arrives (printed at exit), as a SIEM and a dnstap
// collector would take it.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/civicdns/civicdns/export"
	dnstap "github.com/dnstap/golang-dnstap"
)

func main() {
	tapPath := flag.String("dnstap", "", "the unix socket to read dnstap on")
	syslogAddr := flag.String("syslog", "127.0.0.1:5514", "where to read syslog (TCP, octet counting)")
	flag.Parse()
	var frames, msgs atomic.Int64
	os.Remove(*tapPath)
	tl, err := net.Listen("unix", *tapPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ch := make(chan []byte, 10000)
	go dnstap.NewFrameStreamSockInput(tl).ReadInto(ch)
	go func() {
		for range ch {
			frames.Add(1)
		}
	}()
	sl, err := net.Listen("tcp", *syslogAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		for {
			c, err := sl.Accept()
			if err != nil {
				return
			}
			go export.ReadOctetCounted(c, func([]byte) bool { msgs.Add(1); return true })
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	fmt.Printf("dnstap frames %d, syslog messages %d\n", frames.Load(), msgs.Load())
}
