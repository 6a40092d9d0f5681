package export

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxMessage bounds a message a reader accepts (RFC 6587 puts no limit;
// a syslog message of more is no message of ours).
const maxMessage = 1 << 20

// ReadOctetCounted reads RFC 6587 octet-counted syslog frames ("LEN MSG")
// from r and hands each message to fn until r ends or fn returns false:
// what a SIEM's TCP input does with what Syslog writes (bench/collector
// and the tests read with it).
func ReadOctetCounted(r io.Reader, fn func(msg []byte) bool) error {
	br := bufio.NewReader(r)
	for {
		n, err := br.ReadString(' ')
		if err != nil {
			return err
		}
		size, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || size < 0 || size > maxMessage {
			return fmt.Errorf("syslog: %q is not a frame length", n)
		}
		msg := make([]byte, size)
		if _, err := io.ReadFull(br, msg); err != nil {
			return err
		}
		if !fn(msg) {
			return nil
		}
	}
}
