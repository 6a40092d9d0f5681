package upstream

import (
	"net"
	"time"
)

// UDPSocket is a connected UDP socket on a fresh port, used for one
// exchange and closed after it.
type UDPSocket interface {
	// Exchange sends query (unless it is nil) and reads the next datagram
	// that comes into buf, waiting until deadline (zero: no limit; past it
	// the error is os.ErrDeadlineExceeded). A nil query keeps waiting after
	// a datagram that was not the answer; the same query again is a
	// retransmission.
	Exchange(query, buf []byte, deadline time.Time) (int, error)
	Close() error
}

func netInterfaceByName(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}
