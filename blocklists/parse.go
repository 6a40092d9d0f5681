package blocklists

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/civicdns/civicdns/config"
)

// The formats an [[import]] may have.
const (
	FormatHosts   = "hosts"   // "0.0.0.0 name [name…]", as hosts files and many blocklists
	FormatDomains = "domains" // one name per line
	FormatAdblock = "adblock" // "||name^" rules and "@@||name^" exceptions
)

// LineError is a line of a list that could not be used.
type LineError struct {
	Line int
	Msg  string
}

// ParseStats counts what a parse did with the lines.
type ParseStats struct {
	Names   int // names passed on
	Ignored int // lines that are meaningful but not for DNS (IP addresses, cosmetic rules)
	Bad     []LineError
}

// maxReported bounds the bad lines kept per file: a wrong format must not
// fill memory with millions of errors.
const maxReported = 100

// Parse reads a list in format and calls add for each name (normalised;
// valid only during the call) with its line number and whether it is an
// exception (allow). Lines that cannot be used are counted and, up to a
// hundred, reported with their line numbers.
func Parse(format string, r io.Reader, add func(name []byte, line int, allow bool)) (ParseStats, error) {
	var lp lineParser
	var parseLine func(line []byte) (names [][]byte, allow bool, ignored bool, err error)
	switch format {
	case FormatHosts:
		parseLine = lp.hostsLine
	case FormatDomains:
		parseLine = lp.domainsLine
	case FormatAdblock:
		parseLine = lp.adblockLine
	default:
		return ParseStats{}, fmt.Errorf("unknown format %q (hosts, domains or adblock)", format)
	}
	var st ParseStats
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var norm []byte
	bad := func(n int, msg string) {
		if len(msg) > maxMessage { // a message may quote the line: a 100,000-character one is not shown whole
			msg = fmt.Sprintf("%s… (%d characters)", strings.ToValidUTF8(msg[:maxMessage], ""), len(msg))
		}
		if len(st.Bad) < maxReported {
			st.Bad = append(st.Bad, LineError{Line: n, Msg: msg})
		} else if len(st.Bad) == maxReported {
			st.Bad = append(st.Bad, LineError{Line: n, Msg: "more bad lines not reported"})
		}
	}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		names, allow, ignored, err := parseLine(line)
		if err != nil {
			bad(n, err.Error())
			continue
		}
		if ignored {
			st.Ignored++
			continue
		}
		for _, name := range names {
			var nerr error
			norm, nerr = config.AppendNormalized(norm[:0], name)
			if nerr != nil {
				bad(n, nerr.Error())
				continue
			}
			if len(norm) == 0 {
				continue
			}
			add(norm, n, allow)
			st.Names++
		}
	}
	return st, sc.Err()
}

// names in hosts files that name the machine itself, never a site.
var hostsSelf = map[string]bool{
	"localhost": true, "localhost.localdomain": true, "local": true, "broadcasthost": true,
	"ip6-localhost": true, "ip6-loopback": true, "ip6-localnet": true, "ip6-mcastprefix": true,
	"ip6-allnodes": true, "ip6-allrouters": true, "ip6-allhosts": true, "0.0.0.0": true,
}

// stripComment cuts line at the first of marks (one or two bytes), found
// with bytes.IndexByte: bytes.IndexAny built a set for every one of
// millions of lines.
func stripComment(line []byte, marks string) []byte {
	i := bytes.IndexByte(line, marks[0])
	if len(marks) > 1 {
		if j := bytes.IndexByte(line, marks[1]); j >= 0 && (i < 0 || j < i) {
			i = j
		}
	}
	if i >= 0 {
		line = bytes.TrimSpace(line[:i])
	}
	return line
}

// lineParser parses lines without allocating: the fields it returns are
// views of the line in a slice it reuses.
type lineParser struct {
	fields [][]byte
}

// split cuts line at spaces and tabs into p.fields.
func (p *lineParser) split(line []byte) [][]byte {
	p.fields = p.fields[:0]
	for i := 0; i < len(line); {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		start := i
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			i++
		}
		if i > start {
			p.fields = append(p.fields, line[start:i])
		}
	}
	return p.fields
}

func (p *lineParser) hostsLine(line []byte) ([][]byte, bool, bool, error) {
	line = stripComment(line, "#")
	if len(line) == 0 {
		return nil, false, true, nil
	}
	fields := p.split(line)
	if len(fields) == 1 {
		// A bare name: some "hosts" lists mix them in.
		return p.domainsLine(fields[0])
	}
	if !isAddr(fields[0]) {
		return nil, false, false, fmt.Errorf("%q: a hosts line starts with an address", truncate(line))
	}
	out := fields[:0]
	for _, n := range fields[1:] {
		if !hostsSelf[string(n)] {
			out = append(out, n)
		}
	}
	return out, false, len(out) == 0, nil
}

func (p *lineParser) domainsLine(line []byte) ([][]byte, bool, bool, error) {
	line = stripComment(line, "#!")
	if len(line) == 0 {
		return nil, false, true, nil
	}
	fields := p.split(line)
	if len(fields) != 1 {
		return nil, false, false, fmt.Errorf("%q: one name per line", truncate(line))
	}
	if isAddr(fields[0]) {
		return nil, false, true, nil // an IP address: nothing for DNS to block
	}
	return fields, false, false, nil
}

// isAddr reports an IP address; names never start with a digit and hold a
// colon, or are all digits and dots, so most lines need no parse.
func isAddr(b []byte) bool {
	if len(b) == 0 || !(b[0] >= '0' && b[0] <= '9' || b[0] == ':' || b[0] >= 'a' && b[0] <= 'f' && bytes.IndexByte(b, ':') >= 0) {
		return false
	}
	_, err := netip.ParseAddr(string(b))
	return err == nil
}

func (p *lineParser) adblockLine(line []byte) ([][]byte, bool, bool, error) {
	switch {
	case line[0] == '!' || line[0] == '#' || line[0] == '[':
		return nil, false, true, nil // comment or header
	case bytes.Contains(line, []byte("##")) || bytes.Contains(line, []byte("#@#")) || bytes.Contains(line, []byte("#?#")):
		return nil, false, true, nil // cosmetic rule: for browsers
	}
	allow := false
	if rest, ok := bytes.CutPrefix(line, []byte("@@")); ok {
		allow, line = true, rest
	}
	rule, ok := bytes.CutPrefix(line, []byte("||"))
	if !ok {
		if !bytes.ContainsAny(line, "|^/*$") {
			names, _, ignored, err := p.domainsLine(line)
			return names, allow, ignored, err
		}
		return nil, false, false, fmt.Errorf("%q: only ||name^ rules can be applied to DNS", truncate(line))
	}
	rule, mods, _ := bytes.Cut(rule, []byte("$"))
	for _, m := range bytes.Split(mods, []byte(",")) {
		switch string(m) {
		case "", "important", "all", "document", "doc", "first-party", "1p", "third-party", "3p":
		default:
			return nil, false, false, fmt.Errorf("%q: the modifier %q cannot be applied to DNS", truncate(line), m)
		}
	}
	rule = bytes.TrimSuffix(bytes.TrimSuffix(rule, []byte("|")), []byte("^"))
	if len(rule) == 0 || bytes.ContainsAny(rule, "/*^|") {
		return nil, false, false, fmt.Errorf("%q: only ||name^ rules can be applied to DNS", truncate(line))
	}
	p.fields = append(p.fields[:0], rule)
	return p.fields, allow, false, nil
}

// maxMessage bounds the length of a skipped line's message.
const maxMessage = 160

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
