// Package safetext shows text a person typed (a request's reason, a
// requester's name, an audit line) so that it cannot pass for something
// else: control characters (newlines that would forge a line, ESC that
// would rewrite a terminal) and the Unicode controls that reorder or hide
// text (bidirectional overrides, zero-width characters) are written as
// visible escapes, \n, \x1b or \u202e. Everything else stays as typed.
package safetext

import (
	"fmt"
	"strings"
	"unicode"
)

// Escape returns s with every control or format character escaped, and
// bytes that are not UTF-8 as \xNN.
func Escape(s string) string {
	clean := true
	for _, r := range s {
		if needsEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == unicode.ReplacementChar && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x80 && needsEscape(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// needsEscape: C0 and C1 controls, DEL, format characters (Cf: the bidi
// overrides and isolates, zero-width joiners and spaces), line and
// paragraph separators, and invalid UTF-8. (Once anything is escaped,
// Escape doubles backslashes too, so a typed escape cannot pass for one.)
func needsEscape(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar
}
