package notify

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/pgtest"
	"github.com/civicdns/civicdns/internal/smtptest"
	"github.com/civicdns/civicdns/state"
)

// Two instances sharing the state through a real PostgreSQL: a request
// made on one is mailed once (the outbox is the shared table; an instance
// claims a message before sending it), through a relay that requires AUTH.
func TestOneMailFromTwoInstancesThroughPostgres(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	mailSrv := smtptest.Start(t)
	mailSrv.RequireAuth("civicdns", "relay secret")
	dir := t.TempDir()
	pw := filepath.Join(dir, "smtp.pass")
	os.WriteFile(pw, []byte("relay secret\n"), 0o600)
	cfg := notifyConfig(t, dir, mailSrv.Addr, mailSrv.CACert, "")
	cfg.Notify.Username, cfg.Notify.PasswordFile = "civicdns", pw
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	var stores []*state.Store
	var notifiers []*Notifier
	for _, name := range []string{"dns1", "dns2"} {
		store, err := state.OpenShared(filepath.Join(dir, name), pg.DSN(), nil)
		if err != nil {
			t.Fatal(err)
		}
		n := New(Options{Store: store, Config: func() *config.Config { return cfg }, Instance: name, Every: 20 * time.Millisecond,
			Directors: func(string) ([]string, error) { return []string{"chief@city.example"}, nil }})
		stores, notifiers = append(stores, store), append(notifiers, n)
		wg.Add(2)
		go func() { defer wg.Done(); n.Run(ctx) }()
		go func() { defer wg.Done(); store.Run(ctx) }() // LISTEN for the other instance's records, as the daemon does
	}
	// Both instances hear of the request (the second through the database).
	q, err := stores[0].Submit(state.Request{Client: netip.MustParseAddr("10.20.1.1"), Department: "Police", Name: "www.pokerstars.com",
		Category: "gambling", Requester: "Pat", Email: "pat@city.example", Reason: "case"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second instance hearing of it", func() bool { r, _ := stores[1].Request(q.ID); return r != nil })
	m := mailSrv.Wait(t, 1)[0]
	if !strings.Contains(decodeQP(m.Data), q.ID) {
		t.Fatalf("the mail:\n%s", m.Data)
	}
	after := []int64{notifiers[0].rounds.Load(), notifiers[1].rounds.Load()}
	waitFor(t, "three more rounds", func() bool {
		return notifiers[0].rounds.Load() >= after[0]+3 && notifiers[1].rounds.Load() >= after[1]+3
	})
	if got := len(mailSrv.Got()); got != 1 {
		t.Fatalf("%d mails for one request from two instances", got)
	}
}
