package health

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A part failing 100 times a second for a minute and a half is logged
// twice (the first failure, then a minute later with the count), and its
// recovery once.
func TestAFailingPartIsLoggedOnceAMinute(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	tr := New("query log", slog.New(slog.NewTextHandler(&out, nil)), func() time.Time { return now })
	full := errors.New("no space left on device")
	for range 9000 {
		tr.Fail(full, 1)
		now = now.Add(10 * time.Millisecond)
	}
	if tr.Err() != full {
		t.Errorf("Err: %v", tr.Err())
	}
	lines := strings.Count(out.String(), "cannot write")
	if lines != 2 || !strings.Contains(out.String(), "failed_since_last_line=6000") {
		t.Fatalf("%d lines:\n%s", lines, out.String())
	}
	tr.OK()
	tr.OK()
	if tr.Err() != nil || strings.Count(out.String(), "writes again") != 1 || !strings.Contains(out.String(), "failed_since_last_line=2999") {
		t.Errorf("recovery:\n%s", out.String())
	}
}
