package querylog

import (
	"math"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/civicdns/civicdns/policy"
	"github.com/miekg/dns"
)

// Entry is one line of the query log.
type Entry struct {
	Time       time.Time `json:"time"`
	Instance   string    `json:"instance,omitempty"`
	Client     string    `json:"client"`
	Department string    `json:"department"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Action     string    `json:"action"` // allowed, blocked, exempted, refused, malformed
	Category   string    `json:"category"`
	Service    string    `json:"service,omitempty"`  // the catalogue's service that blocked ("Telegram")
	Rule       string    `json:"rule"`               // the list file:line, the configuration line, or the exemption ID
	Answer     string    `json:"answer,omitempty"`   // addresses and CNAME targets
	Upstream   string    `json:"upstream,omitempty"` // the server that gave the answer
	Rcode      string    `json:"rcode"`
	Cached     bool      `json:"cached"`
	Stale      bool      `json:"stale,omitempty"`
	TCP        bool      `json:"tcp,omitempty"`
	Transport  string    `json:"transport,omitempty"` // tcp, tls (DoT), https (DoH), quic (DoQ); absent: udp
	Device     string    `json:"device,omitempty"`    // the device that asked: a roaming device's name, or the DHCP lease's host name
	MAC        string    `json:"mac,omitempty"`       // the DHCP lease's hardware address
	ElapsedMS  float64   `json:"elapsed_ms"`
	Error      string    `json:"error,omitempty"`
}

// slot is a record as the query path leaves it: fixed-size, its strings
// either the policy's own (immutable) or copied into the batch's arena.
type slot struct {
	t         int64 // unix nanoseconds
	client    netip.Addr
	nameOff   uint32
	nameLen   uint16
	qtype     uint16
	rcode     int16
	cached    bool
	stale     bool
	tcp       bool
	transport string // "" for UDP
	device    string // an enrolled device's name, or the lease's host name (the tables' own strings)
	mac       string // the lease's hardware address
	elapsed   int64  // nanoseconds
	action    string
	category  string
	service   string
	dept      string
	rule      policy.Rule
	answer    string
	upstream  string
	err       string
}

var rcodeNames = map[int]string{0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 16: "BADVERS"}

// stamps writes the records' times in RFC 3339 with nanoseconds, exactly
// as time.Time.AppendFormat(time.RFC3339Nano) does in its location, but
// formats the date, the time to the second and the zone once a second
// rather than once a record (the writer's largest cost per record).
type stamps struct {
	loc    *time.Location
	sec    int64  // the unix second prefix and zone are for (none yet: math.MinInt64)
	prefix []byte // 2006-01-02T15:04:05
	zone   []byte // Z or -07:00
}

func newStamps(loc *time.Location) *stamps { return &stamps{loc: loc, sec: math.MinInt64} }

func (st *stamps) append(b []byte, ns int64) []byte {
	sec, frac := ns/1e9, ns%1e9
	if frac < 0 {
		sec, frac = sec-1, frac+1e9
	}
	if sec != st.sec {
		t := time.Unix(sec, 0).In(st.loc)
		st.prefix = t.AppendFormat(st.prefix[:0], "2006-01-02T15:04:05")
		st.zone = t.AppendFormat(st.zone[:0], "Z07:00")
		st.sec = sec
	}
	b = append(b, st.prefix...)
	if frac != 0 {
		var digits [10]byte
		digits[0] = '.'
		for i := 9; i > 0; i-- {
			digits[i] = byte('0' + frac%10)
			frac /= 10
		}
		n := 10
		for digits[n-1] == '0' {
			n--
		}
		b = append(b, digits[:n]...)
	}
	return append(b, st.zone...)
}

// appendEntry writes a slot as one JSON line, without reflection.
func appendEntry(b []byte, s *slot, name []byte, instance string, st *stamps) []byte {
	b = append(b, `{"time":"`...)
	b = st.append(b, s.t)
	b = append(b, '"')
	if instance != "" {
		b = append(b, `,"instance":`...)
		b = appendString(b, instance)
	}
	b = append(b, `,"client":"`...)
	b = s.client.AppendTo(b)
	b = append(b, `","department":`...)
	b = appendString(b, s.dept)
	b = append(b, `,"name":`...)
	b = appendString(b, name)
	b = append(b, `,"type":`...)
	if t, ok := dns.TypeToString[s.qtype]; ok {
		b = appendString(b, t)
	} else {
		b = append(b, `"TYPE`...)
		b = strconv.AppendUint(b, uint64(s.qtype), 10)
		b = append(b, '"')
	}
	b = append(b, `,"action":`...)
	b = appendString(b, s.action)
	b = append(b, `,"category":`...)
	b = appendString(b, s.category)
	if s.service != "" {
		b = append(b, `,"service":`...)
		b = appendString(b, s.service)
	}
	b = append(b, `,"rule":`...)
	b = appendString(b, s.rule.String())
	if s.answer != "" {
		b = append(b, `,"answer":`...)
		b = appendString(b, s.answer)
	}
	if s.upstream != "" {
		b = append(b, `,"upstream":`...)
		b = appendString(b, s.upstream)
	}
	b = append(b, `,"rcode":`...)
	if n, ok := rcodeNames[int(s.rcode)]; ok {
		b = appendString(b, n)
	} else {
		b = append(b, `"RCODE`...)
		b = strconv.AppendInt(b, int64(s.rcode), 10)
		b = append(b, '"')
	}
	b = append(b, `,"cached":`...)
	b = strconv.AppendBool(b, s.cached)
	if s.stale {
		b = append(b, `,"stale":true`...)
	}
	if s.tcp {
		b = append(b, `,"tcp":true`...)
	}
	if s.transport != "" {
		b = append(b, `,"transport":`...)
		b = appendString(b, s.transport)
	}
	if s.device != "" {
		b = append(b, `,"device":`...)
		b = appendString(b, s.device)
	}
	if s.mac != "" {
		b = append(b, `,"mac":`...)
		b = appendString(b, s.mac)
	}
	b = append(b, `,"elapsed_ms":`...)
	b = strconv.AppendFloat(b, float64(s.elapsed)/1e6, 'f', 3, 64)
	if s.err != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, s.err)
	}
	return append(b, "}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string.
func appendString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++ // most names and fields are all such bytes: appended in one go below
			continue
		}
		b = append(b, s[done:i]...)
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			i++
		default:
			r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}
