package querylog

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/civicdns/civicdns/state"
)

// Hold is a legal hold: every record of the client (and, when given, of
// the name and its subdomains) is kept past retention until released.
type Hold struct {
	ID       string       `json:"id"`
	Client   netip.Prefix `json:"client"`
	Name     string       `json:"name,omitempty"`
	Reason   string       `json:"reason"`
	By       string       `json:"by"`
	Time     time.Time    `json:"time"`
	Released bool         `json:"released,omitempty"`
	// ReleasedBy and ReleasedAt say who ended it.
	ReleasedBy string    `json:"released_by,omitempty"`
	ReleasedAt time.Time `json:"released_at,omitzero"`
}

// Covers reports whether the hold keeps e.
func (h *Hold) Covers(e *Entry) bool {
	f := Filter{Client: h.Client, Name: h.Name}
	return !h.Released && f.Match(e)
}

type holdRecord struct {
	Kind string    `json:"kind"` // hold, release
	Hold *Hold     `json:"hold,omitempty"`
	ID   string    `json:"id,omitempty"`
	By   string    `json:"by,omitempty"`
	Time time.Time `json:"time"`
}

// Holds are the legal holds of a query log, kept in its folder.
type Holds struct{ j *state.Journal }

// OpenHolds opens the holds of the log in dir; with sharedDSN ([state]
// postgres) the holds are the shared database's, dir keeping their copy.
func OpenHolds(dir, sharedDSN string) *Holds {
	path := filepath.Join(dir, "holds.journal")
	if sharedDSN != "" {
		return &Holds{state.OpenSharedHolds(path, sharedDSN)}
	}
	return &Holds{state.OpenJournal(path)}
}

// Close releases the database connections of shared holds.
func (hs *Holds) Close() { hs.j.Close() }

func replayHolds(recs []json.RawMessage) ([]*Hold, error) {
	var out []*Hold
	for _, raw := range recs {
		var r holdRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		switch r.Kind {
		case "hold":
			if r.Hold != nil {
				out = append(out, r.Hold)
			}
		case "release":
			for _, h := range out {
				if h.ID == r.ID {
					h.Released, h.ReleasedBy, h.ReleasedAt = true, r.By, r.Time
				}
			}
		}
	}
	return out, nil
}

// List returns every hold, released ones included, oldest first.
func (hs *Holds) List() ([]*Hold, error) {
	recs, err := hs.j.Records()
	if err != nil {
		return nil, err
	}
	return replayHolds(recs)
}

// Active returns the holds in force.
func (hs *Holds) Active() ([]*Hold, error) {
	all, err := hs.List()
	var out []*Hold
	for _, h := range all {
		if !h.Released {
			out = append(out, h)
		}
	}
	return out, err
}

// Place records a new hold and returns it.
func (hs *Holds) Place(client netip.Prefix, name, reason, by string, now time.Time) (*Hold, error) {
	if !client.IsValid() || strings.TrimSpace(reason) == "" {
		return nil, errors.New("a legal hold needs a client (IP or CIDR) and a reason")
	}
	var b [5]byte
	rand.Read(b[:])
	h := &Hold{ID: "H-" + base32.StdEncoding.EncodeToString(b[:]), Client: client.Masked(), Name: name, Reason: reason, By: by, Time: now}
	err := hs.j.Append(func([]json.RawMessage) ([]any, error) {
		return []any{holdRecord{Kind: "hold", Hold: h, Time: now}}, nil
	})
	return h, err
}

// Release ends a hold: its records age out with the rest from then on.
func (hs *Holds) Release(id, by string, now time.Time) error {
	return hs.j.Append(func(recs []json.RawMessage) ([]any, error) {
		all, err := replayHolds(recs)
		if err != nil {
			return nil, err
		}
		for _, h := range all {
			if h.ID == id {
				if h.Released {
					return nil, fmt.Errorf("hold %s was already released by %s", id, h.ReleasedBy)
				}
				return []any{holdRecord{Kind: "release", ID: id, By: by, Time: now}}, nil
			}
		}
		return nil, fmt.Errorf("no hold %s", id)
	})
}
