package dnswire

import "encoding/binary"

// QuestionEnd is the offset just past the first question of a message.
func QuestionEnd(msg []byte) (int, error) {
	if len(msg) < headerLen {
		return 0, ErrShort
	}
	off, err := skipName(msg, headerLen)
	if err != nil || off+4 > len(msg) {
		return 0, ErrFormat
	}
	return off + 4, nil
}

// LowerQuestion lower-cases the name of msg's question in place (qend is
// QuestionEnd(msg)), or reports false, leaving it, for a compressed name.
func LowerQuestion(msg []byte, qend int) bool {
	q := msg[headerLen:qend]
	for i := 0; i < len(q) && q[i] != 0; {
		l := int(q[i])
		if l&0xC0 != 0 {
			return false
		}
		for j := i + 1; j <= i+l && j < len(q); j++ {
			q[j] = lowerASCII(q[j])
		}
		i += 1 + l
	}
	return true
}

// SameQuestion reports whether b holds a's question (qend is
// QuestionEnd(a)): type and class byte for byte, the name in any letter
// case.
func SameQuestion(a, b []byte, qend int) bool {
	if len(b) < qend {
		return false
	}
	for i := headerLen; i < qend; i++ {
		if x, y := a[i], b[i]; x != y && lowerASCII(x) != lowerASCII(y) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Record is where one resource record lies in a message.
type Record struct {
	Section     int // 0 answer, 1 authority, 2 additional
	Type, Class uint16
	Start       int // its owner name
	TTLAt       int // its TTL field
	Data, End   int // its RDATA: msg[Data:End]
}

// TTL reads the record's TTL.
func (r *Record) TTL(msg []byte) uint32 { return binary.BigEndian.Uint32(msg[r.TTLAt:]) }

// Records appends to dst every record of msg after its question section,
// each checked to lie within msg (names stepped over, not followed).
func Records(msg []byte, dst []Record) ([]Record, error) {
	qend, err := QuestionEnd(msg)
	if err != nil {
		return dst, err
	}
	if binary.BigEndian.Uint16(msg[4:]) != 1 {
		return dst, ErrFormat
	}
	off := qend
	for sec := 0; sec < 3; sec++ {
		n := int(binary.BigEndian.Uint16(msg[6+2*sec:]))
		for i := 0; i < n; i++ {
			r := Record{Section: sec, Start: off}
			if off, err = skipName(msg, off); err != nil {
				return dst, err
			}
			if off+10 > len(msg) {
				return dst, ErrFormat
			}
			r.Type, r.Class = binary.BigEndian.Uint16(msg[off:]), binary.BigEndian.Uint16(msg[off+2:])
			r.TTLAt, r.Data = off+4, off+10
			r.End = r.Data + int(binary.BigEndian.Uint16(msg[off+8:]))
			if r.End > len(msg) {
				return dst, ErrFormat
			}
			dst = append(dst, r)
			off = r.End
		}
	}
	if off != len(msg) {
		return dst, ErrFormat // bytes after the last record
	}
	return dst, nil
}

// AppendNameAt appends the possibly compressed name at off in msg, in the
// presentation form miekg/dns gives (no trailing dot, special characters
// escaped), lower-cased when lower is set; it returns the offset past the
// name where it starts (not where a pointer led). Pointers must point
// backwards, so that a name cannot loop.
func AppendNameAt(dst, msg []byte, off int, lower bool) ([]byte, int, error) {
	return appendNameAt(dst, msg, off, lower, true)
}

// CheckName steps over the possibly compressed name at off, checking it as
// AppendNameAt does, and returns the offset past it.
func CheckName(msg []byte, off int) (int, error) {
	_, next, err := appendNameAt(nil, msg, off, false, false)
	return next, err
}

func appendNameAt(dst, msg []byte, off int, lower, out bool) ([]byte, int, error) {
	next := -1
	first := true
	wireLen := 1
	for hops := 0; ; hops++ {
		if off >= len(msg) || hops > 127 {
			return dst, 0, ErrFormat
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if next < 0 {
				next = off + 1
			}
			return dst, next, nil
		case l&0xC0 == 0xC0:
			if off+2 > len(msg) {
				return dst, 0, ErrFormat
			}
			ptr := int(binary.BigEndian.Uint16(msg[off:]) & 0x3FFF)
			if ptr >= off {
				return dst, 0, ErrFormat
			}
			if next < 0 {
				next = off + 2
			}
			off = ptr
			continue
		case l&0xC0 != 0 || off+1+l > len(msg):
			return dst, 0, ErrFormat
		}
		if wireLen += 1 + l; wireLen > 255 {
			return dst, 0, ErrFormat
		}
		if !out {
			off += 1 + l
			continue
		}
		if !first {
			dst = append(dst, '.')
		}
		first = false
		for _, c := range msg[off+1 : off+1+l] {
			if !lower && c >= 'A' && c <= 'Z' {
				dst = append(dst, c)
				continue
			}
			dst = appendNameByte(dst, c)
		}
		off += 1 + l
	}
}
