// Package sdnotify speaks systemd's readiness protocol (sd_notify(3)): a
// datagram of "KEY=value" lines to the socket named by $NOTIFY_SOCKET, so a
// Type=notify unit knows when civicdns serves, reloads and stops, and its
// watchdog knows it is alive. Without $NOTIFY_SOCKET every call does nothing.
package sdnotify

import (
	"net"
	"os"
	"strconv"
	"time"
)

// Notifier sends state changes to systemd.
type Notifier struct {
	addr *net.UnixAddr
}

// New reads $NOTIFY_SOCKET ("@name" is an abstract socket).
func New() *Notifier {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return &Notifier{}
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	return &Notifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}
}

// Send sends one state message, e.g. "READY=1\nSTATUS=serving".
func (n *Notifier) Send(state string) error {
	if n.addr == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}

// WatchdogInterval is how often to send WATCHDOG=1 (half of
// $WATCHDOG_USEC), or 0 when the unit has no watchdog.
func WatchdogInterval() time.Duration {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}
