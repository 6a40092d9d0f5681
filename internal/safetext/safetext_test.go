package safetext

import (
	"strings"
	"testing"
	"unicode"
)

func TestEscape(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Pat Doe", "Pat Doe"},
		{"Zoë Ålund, 北京", "Zoë Ålund, 北京"},
		{"a\nb", `a\nb`},
		{"ok\n2026-12-02 09:15 CST  approve  Chief of Police", `ok\n2026-12-02 09:15 CST  approve  Chief of Police`},
		{"\x1b[2J\x1b[Hclean", `\x1b[2J\x1b[Hclean`},
		{"evil\u202egnp.exe", `evil\u202egnp.exe`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"a\\b", `a\b`}, // nothing escaped: a backslash stays
		{"a\\b\n", `a\\b\n`},
		{"bad\xffbyte", `bad\xffbyte`},
		{"\u0085next", `\u0085next`},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Whatever the input, the output has no control or format character.
func FuzzEscape(f *testing.F) {
	f.Add("a\nb\x1b[31m\u202e")
	f.Add("plain")
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		for _, r := range out {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("%q escaped to %q, which holds %U", s, out, r)
			}
		}
		if !strings.ContainsAny(s, "\\") && out == s && strings.ContainsRune(s, '\n') {
			t.Fatal("a newline passed")
		}
	})
}
