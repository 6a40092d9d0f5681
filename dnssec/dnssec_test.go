package dnssec

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRootAnchors(t *testing.T) {
	a := RootAnchors()
	var tags []int
	for _, ds := range a.ds["."] {
		tags = append(tags, int(ds.KeyTag))
	}
	slices.Sort(tags)
	if !slices.Equal(tags, []int{20326, 38696}) {
		t.Fatalf("root anchors %v, want KSK-2017 and KSK-2024", tags)
	}
	if !a.Has(".") || a.Has("example.") {
		t.Fatal("Has")
	}
}

func TestParseAnchorsErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{". IN A 192.0.2.1\n", "must be a DS or DNSKEY record, not A"},
		{". IN DS 20326 8 2 E06D44B8\n", "a trust anchor needs a SHA-1, SHA-256 or SHA-384 digest of its length"},
		{"; nothing\n", "no DS or DNSKEY records"},
		{". IN DS 20326 8 2\n", "anchors.ds"},
	} {
		_, err := ParseAnchors("anchors.ds", c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
}

// RFC 4034 §6.1 gives this list in canonical order.
func TestCanonicalOrder(t *testing.T) {
	want := []string{"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.", "z.example.", `\001.z.example.`, "*.z.example.", `\200.z.example.`}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, CanonicalCompare)
	if !slices.Equal(got, want) {
		t.Fatalf("%v\nwant %v", got, want)
	}
}

// Signature times are 32-bit serial numbers (RFC 4034 §3.1.5): they wrap
// in 2106, and must still be read near now.
func TestSigTime(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{-40 * 24 * time.Hour, 0, 30 * 24 * time.Hour} {
		at := now.Add(d)
		if got := sigTime(uint32(at.Unix()), now); !got.Equal(at) {
			t.Errorf("%v: %v", at, got)
		}
	}
	late := time.Date(2106, 2, 7, 0, 0, 0, 0, time.UTC) // just before the wrap
	after := late.Add(48 * time.Hour)
	if got := sigTime(uint32(after.Unix()), late); !got.Equal(after) {
		t.Errorf("across the wrap: %v, want %v", got, after)
	}
}

func TestNextCloserAndParents(t *testing.T) {
	if got := NextCloser("a.b.c.example.", "example."); got != "c.example." {
		t.Fatal(got)
	}
	if got := Parent("example."); got != "." {
		t.Fatal(got)
	}
	if got := commonAncestor("a.b.example.", "c.b.example."); got != "b.example." {
		t.Fatal(got)
	}
}

// FuzzParseAnchors: any text is read or refused with an error, never a
// panic, and what is read has only well-formed digests.
func FuzzParseAnchors(f *testing.F) {
	f.Add(rootAnchors)
	f.Add("example. IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n")
	f.Add(". IN DS 1 2 3\n")
	f.Fuzz(func(t *testing.T, text string) {
		a, err := ParseAnchors("fuzz", text)
		if err != nil {
			return
		}
		for _, set := range a.ds {
			for _, ds := range set {
				if len(ds.Digest) != digestLen[ds.DigestType] {
					t.Fatalf("accepted %v", ds)
				}
			}
		}
	})
}
