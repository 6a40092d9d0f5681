package dnswire

import (
	"encoding/binary"
	"errors"
)

// Header flag bits, as they sit in the 16-bit flags word.
const (
	FlagQR uint16 = 1 << 15
	FlagAA uint16 = 1 << 10
	FlagTC uint16 = 1 << 9
	FlagRD uint16 = 1 << 8
	FlagRA uint16 = 1 << 7
	FlagAD uint16 = 1 << 5
	FlagCD uint16 = 1 << 4
)

// Response codes used by the server.
const (
	RcodeSuccess  = 0
	RcodeFormErr  = 1
	RcodeServFail = 2
	RcodeNXDomain = 3
	RcodeNotImp   = 4
	RcodeRefused  = 5
	RcodeBadVers  = 16 // extended: needs OPT
)

// TypeOPT is the EDNS0 pseudo-RR type.
const TypeOPT = 41

// MaxNameLen is the longest presentation form a wire name can take (every byte
// escaped as \DDD), which bounds the name buffer in Query.
const MaxNameLen = 255 * 4

// Errors from ParseQuery. ErrNotQuery and ErrShort mean the packet gets no
// answer at all; ErrFormat means the header was readable and FORMERR is due.
var (
	ErrShort    = errors.New("dnswire: shorter than a DNS header")
	ErrNotQuery = errors.New("dnswire: QR bit set (a response, not a query)")
	ErrFormat   = errors.New("dnswire: malformed query")
)

// Query is a client question decoded straight from the wire, without the
// allocations of a full message unpack. It is meant to be reused: ParseQuery
// overwrites every field.
type Query struct {
	ID     uint16
	Flags  uint16
	QType  uint16
	QClass uint16
	// Name is the question name in lower case presentation form without the
	// trailing dot ("www.example.com"; empty for the root), with the same
	// escapes as miekg/dns (\. and \DDD) for bytes outside plain host names.
	Name []byte
	// QEnd is the offset just past the question section in the raw query.
	QEnd int
	// EDNS reports an OPT record in the query; UDPSize, DO and Version come from it.
	EDNS    bool
	DO      bool
	Version uint8
	UDPSize uint16

	nameBuf [MaxNameLen]byte
}

// Opcode returns the query's opcode.
func (q *Query) Opcode() int { return int(q.Flags>>11) & 0xF }

// RD reports whether the client asked for recursion.
func (q *Query) RD() bool { return q.Flags&FlagRD != 0 }

// CD reports whether the client disabled DNSSEC checking.
func (q *Query) CD() bool { return q.Flags&FlagCD != 0 }

// FQDN returns the name with its trailing dot, as miekg/dns wants it. It allocates.
func (q *Query) FQDN() string {
	if len(q.Name) == 0 {
		return "."
	}
	return string(q.Name) + "."
}

const headerLen = 12

// ParseQuery decodes the header, the single question and the OPT record of a
// query. Additional records other than OPT (such as TSIG) are skipped.
// Answer and authority records, more or fewer than one question, a second OPT
// or a compression pointer in the question are format errors.
func ParseQuery(b []byte, q *Query) error {
	if len(b) < headerLen {
		return ErrShort
	}
	q.ID = binary.BigEndian.Uint16(b)
	q.Flags = binary.BigEndian.Uint16(b[2:])
	q.EDNS, q.DO, q.Version, q.UDPSize = false, false, 0, 0
	q.Name = q.nameBuf[:0]
	q.QType, q.QClass, q.QEnd = 0, 0, 0
	if q.Flags&FlagQR != 0 {
		return ErrNotQuery
	}
	qd := binary.BigEndian.Uint16(b[4:])
	an := binary.BigEndian.Uint16(b[6:])
	ns := binary.BigEndian.Uint16(b[8:])
	ar := binary.BigEndian.Uint16(b[10:])
	if qd != 1 || an != 0 || ns != 0 {
		return ErrFormat
	}
	off, err := q.parseName(b, headerLen)
	if err != nil {
		return err
	}
	if off+4 > len(b) {
		return ErrFormat
	}
	q.QType = binary.BigEndian.Uint16(b[off:])
	q.QClass = binary.BigEndian.Uint16(b[off+2:])
	off += 4
	q.QEnd = off
	for i := 0; i < int(ar); i++ {
		if off, err = q.parseAdditional(b, off); err != nil {
			return err
		}
	}
	return nil
}

// parseName decodes an uncompressed name at off into q.Name.
func (q *Query) parseName(b []byte, off int) (int, error) {
	wireLen := 0
	for {
		if off >= len(b) {
			return 0, ErrFormat
		}
		l := int(b[off])
		off++
		if l == 0 {
			break
		}
		if l&0xC0 != 0 || off+l > len(b) {
			return 0, ErrFormat // pointers have no place in a query's question
		}
		wireLen += l + 1
		if wireLen > 254 {
			return 0, ErrFormat
		}
		if len(q.Name) > 0 {
			q.Name = append(q.Name, '.')
		}
		for _, c := range b[off : off+l] {
			q.Name = appendNameByte(q.Name, c)
		}
		off += l
	}
	return off, nil
}

func appendNameByte(dst []byte, c byte) []byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return append(dst, c+('a'-'A'))
	case c == '.' || c == ' ' || c == '\'' || c == '@' || c == ';' || c == '(' || c == ')' || c == '"' || c == '\\':
		return append(dst, '\\', c)
	case c < ' ' || c > '~':
		return append(dst, '\\', '0'+c/100, '0'+(c/10)%10, '0'+c%10)
	}
	return append(dst, c)
}

// parseAdditional reads one additional record, keeping what an OPT carries.
func (q *Query) parseAdditional(b []byte, off int) (int, error) {
	// Owner name: OPT's is the root; others may be any (possibly compressed) name.
	start := off
	off, err := skipName(b, off)
	if err != nil {
		return 0, err
	}
	if off+10 > len(b) {
		return 0, ErrFormat
	}
	typ := binary.BigEndian.Uint16(b[off:])
	class := binary.BigEndian.Uint16(b[off+2:])
	ttl := binary.BigEndian.Uint32(b[off+4:])
	rdlen := int(binary.BigEndian.Uint16(b[off+8:]))
	off += 10
	if off+rdlen > len(b) {
		return 0, ErrFormat
	}
	if typ == TypeOPT {
		if q.EDNS || off-10-start != 1 {
			return 0, ErrFormat // RFC 6891: one OPT, owned by the root
		}
		q.EDNS = true
		q.UDPSize = class
		q.Version = uint8(ttl >> 16)
		q.DO = ttl&(1<<15) != 0
	}
	return off + rdlen, nil
}

// skipName steps over a possibly compressed name.
func skipName(b []byte, off int) (int, error) {
	for hops := 0; hops < 128; hops++ {
		if off >= len(b) {
			return 0, ErrFormat
		}
		l := int(b[off])
		switch {
		case l == 0:
			return off + 1, nil
		case l&0xC0 == 0xC0:
			if off+2 > len(b) {
				return 0, ErrFormat
			}
			return off + 2, nil
		case l&0xC0 != 0:
			return 0, ErrFormat
		}
		off += l + 1
	}
	return 0, ErrFormat
}
