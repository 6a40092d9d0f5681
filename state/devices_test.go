package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/devices"
)

// A device is stored with its token's hash alone, audited, refused a
// second time under the same name in its department, revoked once; a new
// process (the server after a CLI) sees all of it, from the journal and
// from a snapshot alike.
func TestDevicesEnrolRevokeAndReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeRequests(t, dir, snapshotEvery) // enough for a snapshot at Close
	s := openChecked(t, dir)
	car, err := s.AddDevice("Police", "Patrol car 12", "Admin Ann", "10.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(car.ID, "D-") || !devices.WellFormed(car.Token) || car.TokenHash != devices.KeyOf(car.Token).String() {
		t.Fatalf("enrolled: %+v", car)
	}
	if _, err := s.AddDevice("police", "patrol CAR 12", "Admin Ann", ""); err == nil || !errors.As(err, new(*InputError)) {
		t.Fatalf("a second device of the same name was taken: %v", err)
	}
	tablet, err := s.AddDevice("Parks", "Inspector tablet", "Admin Ann", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][3]string{{"", "x", "a"}, {"Parks", " ", "a"}, {"Parks", "x", ""}, {"Parks", strings.Repeat("n", MaxDeviceName+1), "a"}} {
		if _, err := s.AddDevice(bad[0], bad[1], bad[2], ""); err == nil {
			t.Errorf("AddDevice%q was taken", bad)
		}
	}
	if err := s.RevokeDevice(car.ID, "Admin Ann", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeDevice(car.ID, "Admin Ann", ""); err == nil {
		t.Fatal("revoked twice")
	}
	if err := s.RevokeDevice("D-NOSUCH", "Admin Ann", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	// The token itself is nowhere on disk.
	for _, f := range []string{WorkflowFile, AuditFile} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		if strings.Contains(string(data), car.Token) || strings.Contains(string(data), tablet.Token) {
			t.Fatalf("%s holds a token", f)
		}
	}
	check := func(s *Store, how string) {
		t.Helper()
		live, err := s.PolicyDevices()
		if err != nil || len(live) != 1 || live[0].Key != devices.KeyOf(tablet.Token) || live[0].Department != "Parks" {
			t.Fatalf("%s: live devices %v %+v", how, err, live)
		}
		police, _ := s.Devices("POLICE", 10)
		if len(police) != 1 || !police[0].Revoked || police[0].RevokedBy != "Admin Ann" {
			t.Fatalf("%s: the police's devices: %+v", how, police)
		}
		if all, _ := s.Devices("", 10); len(all) != 2 || all[0].ID != tablet.ID {
			t.Fatalf("%s: every device, newest first: %+v", how, all)
		}
	}
	check(openChecked(t, dir), "from the journal")
	events, err := s.AuditSince(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "device-add device-add device-revoke" {
		t.Fatalf("audit: %s", got)
	}
	// Through the snapshot written at Close, then a new start.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again := openChecked(t, dir)
	if decoded(again) != 0 {
		t.Fatalf("the snapshot was not used (%d records decoded)", decoded(again))
	}
	check(again, "from the snapshot")
}
