package dnswire

import (
	"encoding/binary"
	"errors"
)

// Reply writes a response to a parsed query straight into a byte slice: the
// header, the client's own question (its letter case included, for clients
// that use 0x20 randomisation), then records whose owner is the question name.
// It is how synthesised answers (blocks, errors) are made without allocating.
type Reply struct {
	b          []byte
	an, ns, ar uint16
}

// StartReply begins a response to q (parsed from raw) in dst[:0]. rcode's low
// four bits go in the header; AddOPT carries the rest.
func StartReply(dst, raw []byte, q *Query, rcode int) Reply {
	b := dst[:0]
	b = binary.BigEndian.AppendUint16(b, q.ID)
	b = binary.BigEndian.AppendUint16(b, ReplyFlags(q.Flags, 0)|uint16(rcode&0xF))
	b = append(b, 0, 1, 0, 0, 0, 0, 0, 0)
	b = append(b, raw[headerLen:q.QEnd]...)
	return Reply{b: b}
}

// ReplyFlags gives the flags word of a response to a query with queryFlags:
// QR and RA set, opcode, RD and CD echoed, plus the answer's own bits in extra.
func ReplyFlags(queryFlags, extra uint16) uint16 {
	return FlagQR | FlagRA | queryFlags&(0xF<<11|FlagRD|FlagCD) | extra
}

// SetFlags ORs bits into the header flags.
func (r *Reply) SetFlags(bits uint16) {
	binary.BigEndian.PutUint16(r.b[2:], binary.BigEndian.Uint16(r.b[2:])|bits)
}

// AddAnswer appends an answer record owned by the question name (a
// compression pointer to offset 12) with the given type and rdata.
func (r *Reply) AddAnswer(rrtype uint16, ttl uint32, rdata []byte) {
	r.b = append(r.b, 0xC0, headerLen)
	r.appendRR(rrtype, ttl, rdata)
	r.an++
}

// appendRR writes a record's type, class IN, TTL and rdata after its owner.
func (r *Reply) appendRR(rrtype uint16, ttl uint32, rdata []byte) {
	r.b = binary.BigEndian.AppendUint16(r.b, rrtype)
	r.b = binary.BigEndian.AppendUint16(r.b, 1) // class IN
	r.b = binary.BigEndian.AppendUint32(r.b, ttl)
	r.b = binary.BigEndian.AppendUint16(r.b, uint16(len(rdata)))
	r.b = append(r.b, rdata...)
}

// AddAuthority appends a record to the authority section, owned by owner
// (a name in uncompressed wire form, such as AppendName writes). Every
// answer record must be added before it.
func (r *Reply) AddAuthority(owner []byte, rrtype uint16, ttl uint32, rdata []byte) {
	r.b = append(r.b, owner...)
	r.appendRR(rrtype, ttl, rdata)
	r.ns++
}

// AddCNAME appends a CNAME from the question name to target, a host name in
// presentation form (with or without the trailing dot).
func (r *Reply) AddCNAME(ttl uint32, target string) error {
	r.b = append(r.b, 0xC0, headerLen)
	r.b = binary.BigEndian.AppendUint16(r.b, 5)
	r.b = binary.BigEndian.AppendUint16(r.b, 1)
	r.b = binary.BigEndian.AppendUint32(r.b, ttl)
	lenAt := len(r.b)
	r.b = append(r.b, 0, 0)
	var err error
	if r.b, err = AppendName(r.b, target); err != nil {
		return err
	}
	binary.BigEndian.PutUint16(r.b[lenAt:], uint16(len(r.b)-lenAt-2))
	r.an++
	return nil
}

// ErrName is returned for a name that cannot be written on the wire.
var ErrName = errors.New("dnswire: bad host name")

// AppendName writes a name in presentation form (as Query.Name and
// AppendNameAt give it: \. and \DDD escapes, the trailing dot optional) in
// uncompressed wire form.
func AppendName(b []byte, name string) ([]byte, error) {
	start := len(b)
	if name == "" || name == "." {
		return append(b, 0), nil
	}
	label := len(b) // where the current label's length byte goes
	b = append(b, 0)
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' { // the label ends
			if l := len(b) - label - 1; l == 0 || l > 63 {
				return b[:start], ErrName
			}
			b[label] = byte(len(b) - label - 1)
			if i >= len(name)-1 { // the name's end, or its trailing dot
				break
			}
			label = len(b)
			b = append(b, 0)
			continue
		}
		c := name[i]
		switch {
		case c == '\\' && i+3 < len(name) && isDigit(name[i+1]) && isDigit(name[i+2]) && isDigit(name[i+3]):
			v := int(name[i+1]-'0')*100 + int(name[i+2]-'0')*10 + int(name[i+3]-'0')
			if v > 255 {
				return b[:start], ErrName
			}
			c = byte(v)
			i += 3
		case c == '\\':
			if i+1 == len(name) {
				return b[:start], ErrName
			}
			i++
			c = name[i]
		}
		b = append(b, c)
	}
	b = append(b, 0)
	if len(b)-start > 255 {
		return b[:start], ErrName
	}
	return b, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// AddOPT appends the OPT record: our advertised UDP size, the DO bit, the
// upper bits of an extended rcode and, when edeCode >= 0, an Extended DNS
// Error (RFC 8914) with its text.
func (r *Reply) AddOPT(udpSize uint16, do bool, rcode int, edeCode int, edeText string) {
	r.b = append(r.b, 0) // root owner
	r.b = binary.BigEndian.AppendUint16(r.b, TypeOPT)
	r.b = binary.BigEndian.AppendUint16(r.b, udpSize)
	ttl := uint32(rcode>>4) << 24
	if do {
		ttl |= 1 << 15
	}
	r.b = binary.BigEndian.AppendUint32(r.b, ttl)
	if edeCode < 0 {
		r.b = append(r.b, 0, 0)
	} else {
		if len(edeText) > 400 {
			edeText = edeText[:400]
		}
		r.b = binary.BigEndian.AppendUint16(r.b, uint16(4+2+len(edeText)))
		r.b = binary.BigEndian.AppendUint16(r.b, 15) // option code: EDE
		r.b = binary.BigEndian.AppendUint16(r.b, uint16(2+len(edeText)))
		r.b = binary.BigEndian.AppendUint16(r.b, uint16(edeCode))
		r.b = append(r.b, edeText...)
	}
	r.ar++
}

// Bytes patches the section counts and returns the finished message.
func (r *Reply) Bytes() []byte {
	binary.BigEndian.PutUint16(r.b[6:], r.an)
	binary.BigEndian.PutUint16(r.b[8:], r.ns)
	binary.BigEndian.PutUint16(r.b[10:], r.ar)
	return r.b
}

// ErrorReply is a bodiless response with rcode to q, with an OPT (and the
// EDE, when edeCode >= 0) if the client sent one. Extended rcodes need EDNS:
// without it BADVERS is sent as FORMERR.
func ErrorReply(dst, raw []byte, q *Query, rcode int, edeCode int, edeText string, udpSize uint16) []byte {
	if rcode > 15 && !q.EDNS {
		rcode = RcodeFormErr
	}
	r := StartReply(dst, raw, q, rcode)
	if q.EDNS {
		r.AddOPT(udpSize, q.DO, rcode, edeCode, edeText)
	}
	return r.Bytes()
}

// HeaderOnlyReply answers a query whose question could not be read: the
// header's ID and opcode echoed with rcode, and nothing else.
func HeaderOnlyReply(dst, raw []byte, rcode int) []byte {
	b := dst[:0]
	b = append(b, raw[0], raw[1])
	flags := ReplyFlags(binary.BigEndian.Uint16(raw[2:]), 0) | uint16(rcode&0xF)
	b = binary.BigEndian.AppendUint16(b, flags)
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0)
}

// TruncatedReply is the TC answer sent over UDP when the full one does not fit.
func TruncatedReply(dst, raw []byte, q *Query, rcode int, udpSize uint16) []byte {
	r := StartReply(dst, raw, q, rcode)
	r.SetFlags(FlagTC)
	if q.EDNS {
		r.AddOPT(udpSize, q.DO, rcode, -1, "")
	}
	return r.Bytes()
}

// Resume continues a finished message b (its counts read from the header),
// to append more records such as the OPT.
func Resume(b []byte) Reply {
	return Reply{
		b:  b,
		an: binary.BigEndian.Uint16(b[6:]),
		ns: binary.BigEndian.Uint16(b[8:]),
		ar: binary.BigEndian.Uint16(b[10:]),
	}
}

// AppendQuery appends a query for name (presentation form, as AppendName
// reads it) with ID 0, the given header flags (RD, CD) and an OPT
// advertising udpSize with the DO bit: what a forwarder sends upstream.
func AppendQuery(b []byte, name string, qtype, qclass, flags, udpSize uint16, do bool) ([]byte, error) {
	start := len(b)
	b = append(b, 0, 0, byte(flags>>8), byte(flags), 0, 1, 0, 0, 0, 0, 0, 0)
	var err error
	if b, err = AppendName(b, name); err != nil {
		return b[:start], err
	}
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, qclass)
	r := Resume(b[start:])
	r.AddOPT(udpSize, do, 0, -1, "")
	return append(b[:start], r.Bytes()...), nil
}
