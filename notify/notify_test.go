package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/internal/smtptest"
	"github.com/civicdns/civicdns/querylog"
	"github.com/civicdns/civicdns/state"
)

// hook is a webhook receiver that checks every signature.
type hook struct {
	mu     sync.Mutex
	events []string
	bad    int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte("hook secret"))
	mac.Write(body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get("X-Civicdns-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		h.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	h.events = append(h.events, r.Header.Get("X-Civicdns-Event"))
}

func notifyConfig(t *testing.T, dir, smtpAddr, caCert, webhook string) *config.Config {
	t.Helper()
	secret := filepath.Join(dir, "hook.secret")
	os.WriteFile(secret, []byte("hook secret\n"), 0o600)
	cfg, err := config.Parse(filepath.Join(dir, "civicdns.toml"), []byte(`
[state]
dir = "`+filepath.Join(dir, "state")+`"
[notify]
smtp = "`+smtpAddr+`"
from = "civicdns@city.example"
ca_cert = "`+caCert+`"
console_url = "https://dns.city.example:8053"
webhook = "`+webhook+`"
webhook_secret_file = "`+secret+`"
[[department]]
name = "Police"
networks = ["10.20.0.0/16"]
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A new request mails its department's directors (with the console's
// link, what the requester typed escaped), a decision mails the
// requester, an exemption three days from its end mails its approver, and
// the webhook gets each event signed. The mail relay goes down: the
// request made meanwhile waits in the outbox and arrives once it is back,
// once, though two instances share the outbox.
func TestNotificationsThroughARealMailServer(t *testing.T) {
	t.Parallel()
	mailSrv := smtptest.Start(t)
	h := &hook{}
	web := httptest.NewServer(h)
	defer web.Close()
	dir := t.TempDir()
	cfg := notifyConfig(t, dir, mailSrv.Addr, mailSrv.CACert, web.URL)
	clock := dnstest.NewClock()
	clock.Set(time.Now())
	var instances []*state.Store
	var notifiers []*Notifier
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, name := range []string{"dns1", "dns2"} {
		store, err := state.Open(cfg.Path(cfg.State.Dir), clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		n := New(Options{Store: store, Config: func() *config.Config { return cfg }, Instance: name, Now: clock.Now, Every: 20 * time.Millisecond,
			Directors: func(dept string) ([]string, error) { return []string{"chief@city.example"}, nil }})
		instances = append(instances, store)
		notifiers = append(notifiers, n)
		wg.Add(1)
		go func() { defer wg.Done(); n.Run(ctx) }()
	}
	store := instances[0]
	q, err := store.Submit(state.Request{Client: netip.MustParseAddr("10.20.1.1"), Department: "Police", Name: "www.pokerstars.com", Category: "gambling",
		Requester: "Pat <b>Doe</b>", Email: "pat@city.example", Reason: "fraud case\nSubject: forged"})
	if err != nil {
		t.Fatal(err)
	}
	got := mailSrv.Wait(t, 1)
	m := got[0]
	m.Data = decodeQP(m.Data)
	if m.To[0] != "chief@city.example" || !strings.Contains(m.Data, "Exemption request "+q.ID) || !strings.Contains(m.Data, "https://dns.city.example:8053/") ||
		!strings.Contains(m.Data, "Pat &lt;b&gt;Doe&lt;/b&gt;") || strings.Contains(m.Data, "\nSubject: forged") {
		t.Fatalf("the directors' mail:\n%s", m.Data)
	}
	if _, err := store.Approve(q.ID, state.Approval{By: "Chief of Police", ByEmail: "chief@city.example", Expires: config.DateOf(clock.Now().AddDate(0, 0, 1)),
		Reason: "fraud unit"}); err != nil {
		t.Fatal(err)
	}
	mailSrv.Wait(t, 2) // the requester's decision
	// Recorded as sent before the clock jumps an hour (a claim lasts two minutes).
	waitFor(t, "the decision recorded as sent", func() bool { return recorded(instances[0], "sent", "approve-"+q.ID+"-mail") })
	clock.Advance(time.Hour + time.Minute) // the hourly look at the exemptions ending soon
	got = mailSrv.Wait(t, 3)               // and the approver's reminder (it ends tomorrow)
	var decision, reminder bool
	for _, m := range got[1:] {
		m.Data = decodeQP(m.Data)
		decision = decision || m.To[0] == "pat@city.example" && strings.Contains(m.Data, "approved")
		reminder = reminder || m.To[0] == "chief@city.example" && strings.Contains(m.Data, "ends")
	}
	if !decision || !reminder {
		recs, _ := instances[0].Mail().Records()
		for _, r := range recs {
			var e entry
			json.Unmarshal(r, &e)
			t.Logf("outbox: %s %s by %s until %s attempt %d err %s", e.Kind, e.ID, e.By, e.Until.Format("15:04:05.000"), e.Attempt, e.Err)
		}
		t.Fatalf("decision %v, reminder %v:\n%v", decision, reminder, got)
	}

	// The relay goes down; a request waits; it comes back.
	waitFor(t, "the reminder recorded as sent", func() bool { return recordedKind(instances[0], "sent", "expiring-") })
	mailSrv.Stop()
	q2, _ := store.Submit(state.Request{Client: netip.MustParseAddr("10.20.1.2"), Department: "Police", Name: "www.bet365.com", Category: "gambling",
		Requester: "Sam", Email: "sam@city.example", Reason: "case 2"})
	waitFor(t, "a failed delivery", func() bool { return failuresOf(instances) })
	mailSrv.Restart(t)
	clock.Advance(time.Minute) // past the first backoff
	mailSrv.Wait(t, 4)
	// Three more rounds of both notifiers: a second copy would have gone out.
	after := []int64{notifiers[0].rounds.Load(), notifiers[1].rounds.Load()}
	waitFor(t, "three more rounds", func() bool {
		return notifiers[0].rounds.Load() >= after[0]+3 && notifiers[1].rounds.Load() >= after[1]+3
	})
	n := 0
	for _, m := range mailSrv.Got() {
		if strings.Contains(m.Data, q2.ID) {
			n++
		}
	}
	if n != 1 {
		for _, m := range mailSrv.Got() {
			t.Logf("to %v: %s", m.To, regexp.MustCompile(`Subject: [^\r\n]*`).FindString(m.Data))
		}
		t.Fatalf("the request made while the relay was down arrived %d times", n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bad != 0 || !strings.Contains(strings.Join(h.events, " "), "request") || !strings.Contains(strings.Join(h.events, " "), "approve") {
		t.Errorf("webhook: %v, %d bad signatures", h.events, h.bad)
	}
}

// recorded reports whether the outbox has a record of kind for id.
func recorded(s *state.Store, kind, id string) bool {
	recs, _ := s.Mail().Records()
	for _, r := range recs {
		var e entry
		if json.Unmarshal(r, &e) == nil && e.Kind == kind && e.ID == id {
			return true
		}
	}
	return false
}

// recordedKind is recorded for any mail whose id has that prefix.
func recordedKind(s *state.Store, kind, prefix string) bool {
	recs, _ := s.Mail().Records()
	for _, r := range recs {
		var e entry
		if json.Unmarshal(r, &e) == nil && e.Kind == kind && strings.HasPrefix(e.ID, prefix) && strings.HasSuffix(e.ID, "-mail") {
			return true
		}
	}
	return false
}

// failuresOf reports whether the outbox recorded a failed delivery.
func failuresOf(stores []*state.Store) bool {
	recs, _ := stores[0].Mail().Records()
	for _, r := range recs {
		if strings.Contains(string(r), `"kind":"failed"`) {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15 s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling the outbox another goroutine writes
	}
}

// decodeQP undoes the quoted-printable encoding of a message's parts.
func decodeQP(data string) string {
	b, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(strings.ReplaceAll(data, "\r\n", "\n"))))
	return string(b)
}

// At [notify] weekly_report each department's directors get its figures,
// once, and reading the query log for them is audited.
func TestWeeklyReport(t *testing.T) {
	t.Parallel()
	mailSrv := smtptest.Start(t)
	dir := t.TempDir()
	now := time.Now().Truncate(time.Minute)
	at := now.Add(-time.Minute)
	cfg := notifyConfig(t, dir, mailSrv.Addr, mailSrv.CACert, "")
	cfg.Notify.Weekly = config.Weekly{Day: at.Weekday(), Hour: at.Hour(), Minute: at.Minute()}
	cfg.Policy.Location = time.Local
	store, err := state.Open(cfg.Path(cfg.State.Dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	var asked []time.Time
	var mu sync.Mutex
	n := New(Options{Store: store, Config: func() *config.Config { return cfg }, Instance: "dns1", Every: 10 * time.Millisecond, Now: func() time.Time { return now },
		Directors: func(string) ([]string, error) { return []string{"chief@city.example"}, nil },
		Reports: func(from, to time.Time) (querylog.Reports, error) {
			mu.Lock()
			asked = append(asked, from, to)
			mu.Unlock()
			return querylog.Reports{"Police": {Lookups: 120, Blocked: 7, ByCategory: map[string]int{"gambling": 7}, Names: map[string]int{"www.pokerstars.com": 7},
				Clients: map[string]int{"10.20.1.1": 7}}}, nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	m := mailSrv.Wait(t, 1)[0]
	text := decodeQP(m.Data)
	if m.To[0] != "chief@city.example" || !strings.Contains(text, "Weekly report for Police: 7 blocked lookups") || !strings.Contains(text, "www.pokerstars.com (7)") ||
		!strings.Contains(text, "Blocked as gambling: 7") {
		t.Fatalf("the weekly report:\n%s", text)
	}
	waitFor(t, "a few more rounds", func() bool { return len(mailSrv.Got()) == 1 && n.weeklyDoneAt().Equal(at) })
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || !asked[1].Equal(at) || !asked[0].Equal(at.AddDate(0, 0, -7)) {
		t.Errorf("the query log was read for %v", asked)
	}
	events, _ := store.AuditSince(time.Time{})
	if len(events) != 1 || events[0].Action != "log-report" {
		t.Errorf("audit: %+v", events)
	}
}
