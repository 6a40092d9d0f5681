package querylog

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// The escapes appendString writes, exactly.
func TestAppendStringEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"":                          `""`,
		"www.example.com":           `"www.example.com"`,
		`a"b\c`:                     `"a\"b\\c"`,
		"tab\there\x00\x1f":         `"tab\u0009here\u0000\u001f"`,
		"caf\u00e9.example":         "\"caf\u00e9.example\"",
		"bad\xffbyte\xc3":           `"bad\ufffdbyte\ufffd"`,
		"\"":                        `"\""`,
		"end with escape\n":         `"end with escape\u000a"`,
		"\u4e2d\u6587.\u4e2d\u56fd": "\"\u4e2d\u6587.\u4e2d\u56fd\"",
	} {
		if got := string(appendString(nil, in)); got != want {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
		if got := string(appendString(nil, []byte(in))); got != want {
			t.Errorf("appendString([]byte(%q)) = %s, want %s", in, got, want)
		}
	}
}

// Whatever the bytes, appendString writes valid JSON that reads back as
// them, each byte that is not UTF-8 read as U+FFFD.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "www.example.com", `a"b\c`, "\x00\x7f\x80\xff", "caf\u00e9", "\xe4\xb8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendString([]byte("x"), s)[1:]
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q: %s is not a JSON string: %v", s, out, err)
		}
		var want strings.Builder
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			want.WriteRune(r) // RuneError for a byte that is not UTF-8
			i += size
		}
		if back != want.String() {
			t.Fatalf("%q: wrote %s, read back %q", s, out, back)
		}
	})
}
