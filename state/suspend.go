package state

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/policy"
)

// Suspension is a device's access suspended (`civicdns access suspend`, or
// a director in the console), until restored or its last day.
type Suspension struct {
	ID         string       `json:"id"`
	Client     netip.Prefix `json:"client"`
	By         string       `json:"by"`
	Reason     string       `json:"reason"`
	Until      config.Date  `json:"until,omitzero"`  // its last day; zero: until restored
	Owner      string       `json:"owner,omitempty"` // the director's department; "" for an admin
	Time       time.Time    `json:"time"`
	Restored   bool         `json:"restored,omitempty"`
	RestoredBy string       `json:"restored_by,omitempty"`
	RestoredAt time.Time    `json:"restored_at,omitzero"`
}

// Suspension returns the suspension with that ID, or nil.
func (st *State) Suspension(id string) *Suspension {
	for _, s := range st.Suspensions {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Suspend records a suspension, durably and audited.
func (s *Store) Suspend(client netip.Prefix, by, from, reason, owner string, until config.Date) (*Suspension, error) {
	if !client.IsValid() || strings.TrimSpace(by) == "" || strings.TrimSpace(reason) == "" {
		return nil, errors.New("a suspension needs a client (IP or CIDR), who suspends it and a reason")
	}
	if err := bounded("who", by, MaxName, "reason", reason, MaxText); err != nil {
		return nil, err
	}
	now := s.now()
	if !until.IsZero() && until.Start(time.Local).AddDate(0, 0, 1).Before(now) {
		return nil, fmt.Errorf("-until %s is in the past", until)
	}
	sus := &Suspension{ID: newID("S-"), Client: client.Masked(), By: by, Reason: reason, Until: until, Owner: owner, Time: now}
	until2 := "until restored"
	if !until.IsZero() {
		until2 = "through " + until.String()
	}
	ev := &AuditEvent{Time: now, Who: by, From: from, Action: "suspend", What: fmt.Sprintf("suspension %s of %s %s: %s", sus.ID, sus.Client, until2, reason)}
	err := s.appendRecord(func(*index) (record, error) {
		return record{Time: now, Kind: "suspend", By: by, From: from, Suspension: sus, Audit: ev}, nil
	})
	if err != nil {
		return nil, err
	}
	return sus, nil
}

// Restore ends a suspension at once.
func (s *Store) Restore(id, by, from string) error {
	err := s.appendRecord(func(x *index) (record, error) {
		sus := x.susp[id]
		switch {
		case sus == nil:
			return record{}, ErrNotFound
		case sus.Restored:
			return record{}, fmt.Errorf("suspension %s was already ended by %s", id, sus.RestoredBy)
		}
		now := s.now()
		return record{Time: now, Kind: "restore", ID: id, By: by, From: from,
			Audit: &AuditEvent{Time: now, Who: by, From: from, Action: "restore", What: "suspension " + id}}, nil
	})
	return err
}

// PolicySuspensions are the suspensions not restored, as the policy takes
// them (days in loc); ended ones included, they no longer apply.
func (st *State) PolicySuspensions(loc *time.Location) []*policy.Suspension {
	var out []*policy.Suspension
	for _, s := range st.Suspensions {
		if s.Restored {
			continue
		}
		p := &policy.Suspension{ID: s.ID, Client: s.Client, By: s.By, Reason: s.Reason, Owner: s.Owner, Created: s.Time}
		if !s.Until.IsZero() {
			p.Until = s.Until.Start(loc).AddDate(0, 0, 1)
		}
		out = append(out, p)
	}
	return out
}
