package live

import (
	"sort"
	"time"

	"github.com/civicdns/civicdns/blocklists"
)

// ListStatus is what `civicdns status` tells of one downloaded list: when
// it was last tried and how that went.
type ListStatus struct {
	Category string    `json:"category"`
	URL      string    `json:"url"`
	Time     time.Time `json:"time"`
	Result   string    `json:"result"` // success, not_modified, failure, refused
	Error    string    `json:"error,omitempty"`
}

// noteDownload keeps the result of a list download for ListStatuses.
func (s *State) noteDownload(d blocklists.Download, result string, err error) {
	st := ListStatus{Category: d.Category, URL: d.URL, Time: s.now(), Result: result}
	if err != nil && result != "not_modified" {
		st.Error = err.Error()
	}
	s.downloadsMu.Lock()
	defer s.downloadsMu.Unlock()
	if s.downloads == nil {
		s.downloads = map[string]ListStatus{}
	}
	s.downloads[d.URL] = st
}

// ListStatuses are the lists' last refreshes, by category and URL.
func (s *State) ListStatuses() []ListStatus {
	s.downloadsMu.Lock()
	defer s.downloadsMu.Unlock()
	out := make([]ListStatus, 0, len(s.downloads))
	for _, st := range s.downloads {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Category != out[j].Category {
			return out[i].Category < out[j].Category
		}
		return out[i].URL < out[j].URL
	})
	return out
}
