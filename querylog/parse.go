package querylog

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// parseLine reads a line the query log writes (a flat JSON object of
// strings, booleans and numbers) without reflection: the central log's
// copy decodes every record. Anything it does not expect is an error, and
// the caller falls back to encoding/json.
func parseLine(line []byte, e *Entry) error {
	p := parser{b: line}
	p.space()
	if !p.byte('{') {
		return errSyntax
	}
	for {
		p.space()
		if p.byte('}') {
			return nil
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		p.space()
		if !p.byte(':') {
			return errSyntax
		}
		p.space()
		if err := p.field(key, e); err != nil {
			return err
		}
		p.space()
		if p.byte(',') {
			continue
		}
		if p.byte('}') {
			return nil
		}
		return errSyntax
	}
}

// field reads the value of key into e.
func (p *parser) field(key string, e *Entry) error {
	if dst := stringField(key, e); dst != nil {
		s, err := p.str()
		*dst = s
		return err
	}
	switch key {
	case "time":
		s, err := p.str()
		if err != nil {
			return err
		}
		e.Time, err = time.Parse(time.RFC3339Nano, s)
		return err
	case "cached":
		v, err := p.boolean()
		e.Cached = v
		return err
	case "stale":
		v, err := p.boolean()
		e.Stale = v
		return err
	case "tcp":
		v, err := p.boolean()
		e.TCP = v
		return err
	case "elapsed_ms":
		start := p.i
		for p.i < len(p.b) && (p.b[p.i] == '-' || p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E' || p.b[p.i] == '+' || p.b[p.i] >= '0' && p.b[p.i] <= '9') {
			p.i++
		}
		v, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
		e.ElapsedMS = v
		return err
	}
	return errSyntax // a field of a later version: encoding/json knows what to skip
}

// stringField is where a string field of a record goes, or nil.
func stringField(key string, e *Entry) *string {
	switch key {
	case "instance":
		return &e.Instance
	case "client":
		return &e.Client
	case "department":
		return &e.Department
	case "name":
		return &e.Name
	case "type":
		return &e.Type
	case "action":
		return &e.Action
	case "category":
		return &e.Category
	case "service":
		return &e.Service
	case "transport":
		return &e.Transport
	case "device":
		return &e.Device
	case "mac":
		return &e.MAC
	case "rule":
		return &e.Rule
	case "rcode":
		return &e.Rcode
	case "error":
		return &e.Error
	case "answer":
		return &e.Answer
	case "upstream":
		return &e.Upstream
	}
	return nil
}

var errSyntax = errors.New("query log: not a record line")

type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *parser) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) boolean() (bool, error) {
	switch {
	case len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "true":
		p.i += 4
		return true, nil
	case len(p.b)-p.i >= 5 && string(p.b[p.i:p.i+5]) == "false":
		p.i += 5
		return false, nil
	}
	return false, errSyntax
}

// str reads a JSON string.
func (p *parser) str() (string, error) {
	if !p.byte('"') {
		return "", errSyntax
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			if !utf8.Valid(p.b[start:p.i]) {
				return "", errSyntax // encoding/json's replacement rules decide
			}
			s := string(p.b[start:p.i])
			p.i++
			return s, nil
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", errSyntax
		default:
			p.i++
		}
	}
	return "", errSyntax
}

// escaped finishes a string that has escapes, from start.
func (p *parser) escaped(start int) (string, error) {
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if !utf8.Valid(out) {
				return "", errSyntax
			}
			return string(out), nil
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return "", errSyntax
		}
		p.i += 2
		switch e := p.b[p.i-1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if p.i+4 > len(p.b) {
				return "", errSyntax
			}
			v, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 16)
			if err != nil {
				return "", errSyntax
			}
			p.i += 4
			r := rune(v)
			if utf16.IsSurrogate(r) {
				return "", errSyntax // never written by civicdns: let encoding/json decide
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errSyntax
		}
	}
	return "", errSyntax
}
