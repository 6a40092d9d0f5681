package state

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
)

// A record on disk is one line: its length in bytes (decimal), a space,
// the JSON, a space, the CRC-32C of the JSON (8 hex digits), a newline:
//
//	57 {"time":"…","kind":"request",…} 8f3c21a0
//
// The length says where the record must end, so a damaged byte anywhere
// is found as damage, never mistaken for the end of the file: only a
// record that runs past the end of the file with no newline after it (a
// write the power cut short) is a torn write. JSON never holds a raw
// newline, so no part of an unfinished record does either.
//
// Journals written before the length was added hold lines of the JSON, a
// tab and the IEEE CRC-32 in hex; they are read as they are.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxRecord bounds one record (the fields people type are bounded far
// below it): a length beyond it is damage, not a reason to read 1 GB.
const maxRecord = 4 << 20

// frame appends data framed as a record to dst.
func frame(dst, data []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(data)), 10)
	dst = append(dst, ' ')
	dst = append(dst, data...)
	dst = append(dst, ' ')
	sum := crc32.Checksum(data, castagnoli)
	const hexDigits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(sum>>uint(shift))&0xf])
	}
	return append(dst, '\n')
}

// DamageError is a record that is not intact and not a torn tail: the
// journal needs an admin's look (`civicdns state verify`, `state repair`).
type DamageError struct {
	Path   string // the journal file ("" while only the bytes are known)
	Offset int64  // where the damaged record starts
	Reason string
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("%s: the record at byte %d is damaged (%s); nothing after it is trusted: see `civicdns state verify` and `civicdns state repair`", e.Path, e.Offset, e.Reason)
}

// IsDamage reports whether err is a damaged journal record.
func IsDamage(err error) bool {
	var d *DamageError
	return errors.As(err, &d)
}

// decoder reads records from a journal's bytes, from a known offset.
type decoder struct {
	br  *bufio.Reader
	off int64 // where the next record starts
	// torn is set when the bytes end inside a record: its start, and how
	// many bytes of it there are.
	torn      bool
	tornBytes int64
}

func newDecoder(r io.Reader, off int64) *decoder {
	return &decoder{br: bufio.NewReaderSize(r, 64<<10), off: off}
}

// next returns the next record, io.EOF at a clean end or at a torn tail
// (d.torn tells which), or a *DamageError. After damage the decoder has
// moved past the damaged record (by its length when that was intact, else
// to the next newline), so verify can go on reading.
func (d *decoder) next() (entry, error) {
	first, err := d.br.Peek(1)
	if err == io.EOF {
		return entry{}, io.EOF
	}
	if err != nil {
		return entry{}, err
	}
	if first[0] == '{' {
		return d.legacy()
	}
	start := d.off
	head, err := d.br.ReadSlice(' ')
	if err == io.EOF || (err == nil && !allDigits(head[:len(head)-1])) || errors.Is(err, bufio.ErrBufferFull) {
		return d.badOrTorn(start, head, err)
	}
	if err != nil {
		return entry{}, err
	}
	n, perr := strconv.Atoi(string(head[:len(head)-1]))
	d.off += int64(len(head))
	if perr != nil || n < 2 || n > maxRecord {
		return entry{}, d.skipLine(start, "its length is not a record's")
	}
	body := make([]byte, n+10) // JSON, space, 8 hex digits, newline
	k, err := io.ReadFull(d.br, body)
	d.off += int64(k)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		if bytes.IndexByte(body[:k], '\n') < 0 {
			d.torn, d.tornBytes = true, d.off-start
			return entry{}, io.EOF
		}
		return entry{}, &DamageError{Offset: start, Reason: "its length runs past the end of the file"}
	}
	if err != nil {
		return entry{}, err
	}
	data := body[:n]
	if body[n] != ' ' || body[n+9] != '\n' {
		return entry{}, d.resync(start, body, "it does not end where its length says")
	}
	sum, herr := strconv.ParseUint(string(body[n+1:n+9]), 16, 32)
	if herr != nil || uint32(sum) != crc32.Checksum(data, castagnoli) {
		return entry{}, &DamageError{Offset: start, Reason: "its checksum does not match"}
	}
	return entry{data: data, start: start, end: d.off}, nil
}

// legacy reads a record of the first format: JSON, tab, IEEE CRC, newline.
func (d *decoder) legacy() (entry, error) {
	start := d.off
	line, err := d.br.ReadBytes('\n')
	d.off += int64(len(line))
	if err == io.EOF {
		d.torn, d.tornBytes = true, int64(len(line))
		return entry{}, io.EOF
	}
	if err != nil {
		return entry{}, err
	}
	body := line[:len(line)-1]
	i := bytes.LastIndexByte(body, '\t')
	if i < 0 {
		return entry{}, &DamageError{Offset: start, Reason: "it has no checksum"}
	}
	sum, herr := strconv.ParseUint(string(body[i+1:]), 16, 32)
	if herr != nil || uint32(sum) != crc32.ChecksumIEEE(body[:i]) {
		return entry{}, &DamageError{Offset: start, Reason: "its checksum does not match"}
	}
	return entry{data: body[:i], start: start, end: d.off}, nil
}

// badOrTorn handles a length that did not read: the end of the file in
// the middle of it (torn, when no newline follows), or damage.
func (d *decoder) badOrTorn(start int64, head []byte, err error) (entry, error) {
	if err == io.EOF && allDigits(head) && bytes.IndexByte(head, '\n') < 0 {
		d.off += int64(len(head))
		d.torn, d.tornBytes = true, int64(len(head))
		return entry{}, io.EOF
	}
	if err == io.EOF && bytes.IndexByte(head, '\n') < 0 {
		d.off += int64(len(head))
		return entry{}, &DamageError{Offset: start, Reason: "the file ends in bytes that are no record"}
	}
	d.off += int64(len(head))
	return entry{}, d.skipLine(start, "it does not start with its length")
}

// resync moves past a record whose framing is wrong: to the first newline
// in what was read for it, or past the next newline in the file.
func (d *decoder) resync(start int64, read []byte, reason string) error {
	if i := bytes.IndexByte(read, '\n'); i >= 0 {
		// Give back what follows the newline: it may be the next record.
		d.off -= int64(len(read) - i - 1)
		d.br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(append([]byte(nil), read[i+1:]...)), d.br), 64<<10)
		return &DamageError{Offset: start, Reason: reason}
	}
	return d.skipLine(start, reason)
}

// skipLine moves past the next newline and reports damage at start.
func (d *decoder) skipLine(start int64, reason string) error {
	rest, _ := d.br.ReadBytes('\n')
	d.off += int64(len(rest))
	return &DamageError{Offset: start, Reason: reason}
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
