package daemon

import (
	"strconv"
	"time"

	"github.com/civicdns/civicdns/leases"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/notify"
)

// Status is what `civicdns status` prints: the running server as it is.
type Status struct {
	Time       time.Time           `json:"time"`
	Draining   bool                `json:"draining,omitempty"`
	Listeners  map[string]string   `json:"listeners"` // part → address
	Reload     live.ReloadStatus   `json:"reload"`
	Lists      []live.ListStatus   `json:"lists"`
	Degraded   map[string]string   `json:"degraded,omitempty"` // part → why it cannot write
	State      *StoreStatus        `json:"state,omitempty"`
	QueryLog   *QueryLogStatus     `json:"query_log,omitempty"`
	Exemptions int                 `json:"exemptions_active"`
	Mail       *notify.Status      `json:"mail_outbox,omitempty"` // notifications waiting, and the last failure
	Leases     []leases.FileStatus `json:"lease_files,omitempty"`
}

// StoreStatus is the state store's part of Status.
type StoreStatus struct {
	Shared     bool           `json:"shared"`                // through PostgreSQL
	Online     bool           `json:"postgres_online"`       // true for a store of files alone
	Queued     int            `json:"outbox"`                // records waiting for PostgreSQL
	Pending    map[string]int `json:"pending_by_department"` // by department key; "" citywide
	PendingErr string         `json:"pending_error,omitempty"`
}

// QueryLogStatus is the query log's part of Status.
type QueryLogStatus struct {
	Dropped uint64 `json:"dropped"`
}

// Status reports the running server.
func (d *Daemon) Status() Status {
	snap := d.State.Snapshot()
	st := Status{Time: time.Now(), Draining: d.Draining(), Listeners: map[string]string{},
		Reload: d.Reloader.Status(), Lists: d.State.ListStatuses(), Exemptions: snap.Exemptions.Active(time.Now())}
	for i, a := range d.DNS.Addrs() {
		st.Listeners["dns"+suffix(i)] = a.String()
	}
	for name, s := range map[string]*HTTPServer{"metrics": d.Metrics, "blockpage": d.Blockpage, "blockpage-https": d.BlockTLS, "console": d.Console} {
		if s != nil && s.ln != nil {
			st.Listeners[name] = s.Addr().String()
		}
	}
	for part, err := range d.Degraded() {
		if st.Degraded == nil {
			st.Degraded = map[string]string{}
		}
		st.Degraded[part] = err.Error()
	}
	if d.Store != nil {
		ss := &StoreStatus{Shared: d.Store.Shared(), Online: d.Store.Online(), Queued: d.Store.Queued()}
		var err error
		if ss.Pending, err = d.Store.PendingByDepartment(); err != nil {
			ss.PendingErr = err.Error()
		}
		st.State = ss
	}
	if d.Leases != nil {
		st.Leases = d.Leases.Status()
	}
	if d.Notifier != nil {
		ms := d.Notifier.Status()
		st.Mail = &ms
	}
	if d.QueryLog != nil {
		st.QueryLog = &QueryLogStatus{Dropped: d.QueryLog.Dropped()}
	}
	return st
}

func suffix(i int) string {
	if i == 0 {
		return ""
	}
	return "-" + strconv.Itoa(i+1)
}
