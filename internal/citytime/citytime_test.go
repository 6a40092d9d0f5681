package citytime

import (
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 15, 15, 0, 0, time.UTC)
	if got := Format(at, chicago); got != "2026-12-02 09:15 CST" {
		t.Errorf("%q", got)
	}
	if got := Format(time.Date(2026, 7, 2, 15, 15, 0, 0, time.UTC), chicago); got != "2026-07-02 10:15 CDT" {
		t.Errorf("summer: %q", got)
	}
	if Format(time.Time{}, chicago) != "" {
		t.Error("the zero time")
	}
}
