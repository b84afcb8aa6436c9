package hub

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/presenced/presenced/internal/testlog"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// run starts h inside the current synctest bubble and stops it at the end
// of the bubble's function.
func run(t *testing.T, h *Hub) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	<-h.Ready()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func TestIdleDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore(), IdleLimit: 300 * time.Second})
		defer run(t, h)()
		watcher, bob := &sink{}, &sink{}
		h.Connect(ConnInfo{ID: 1, User: "alice"}, watcher)
		h.Do(1, "s", Subscribe{Users: []string{"bob"}})
		h.Connect(ConnInfo{ID: 2, User: "bob"}, bob)
		synctest.Wait()
		if e, _ := watcher.last("bob"); e.Status != presence.Online {
			t.Fatalf("bob = %v, want online", e.Status)
		}

		time.Sleep(200 * time.Second) // fake time: the bubble's clock
		h.Do(2, "a", Activity{})      // the deadline moves to 500 s
		time.Sleep(299 * time.Second)
		synctest.Wait()
		if e, _ := watcher.last("bob"); e.Status != presence.Online {
			t.Fatalf("at 499 s bob = %v, want online", e.Status)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if e, _ := watcher.last("bob"); e.Status != presence.Away {
			t.Fatalf("at 500 s bob = %v, want away", e.Status)
		}

		// A user's own idle limit wins over the workspace's.
		h.Do(2, "p", SetPrefs{IdleLimit: ptr(60 * time.Second)})
		h.Do(2, "a2", Activity{})
		time.Sleep(60 * time.Second)
		synctest.Wait()
		if e, _ := watcher.last("bob"); e.Status != presence.Away {
			t.Fatalf("after own 60 s limit bob = %v, want away", e.Status)
		}

		// No auto-away: idle time passes, bob stays online.
		h.Do(2, "p2", SetPrefs{AutoAway: ptr(false)})
		h.Do(2, "a3", Activity{})
		time.Sleep(time.Hour)
		synctest.Wait()
		if e, _ := watcher.last("bob"); e.Status != presence.Online {
			t.Fatalf("with auto_away off bob = %v, want online", e.Status)
		}
		h.Disconnect(1)
		h.Disconnect(2)
	})
}

func ptr[T any](v T) *T { return &v }

func TestStoreOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		var logs testlog.Buffer
		h := New(Config{Store: st, Log: zerolog.New(&logs)})
		defer run(t, h)()
		alice := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "alice", Admin: true}, alice)
		h.Do(1, "1", SetStatus{Manual: presence.Busy, Text: "before"})
		synctest.Wait()
		st.setDown(true)
		h.Do(1, "2", SetStatus{Manual: presence.Away, Text: "accepted"}) // the outage is not known yet
		time.Sleep(10 * time.Second)                                     // retries with backoff, all failing
		synctest.Wait()
		if h.Healthy() {
			t.Fatal("hub healthy while the store is down")
		}
		h.Do(1, "3", SetStatus{Manual: presence.Online, Text: "refused"})
		h.Do(1, "4", CreateStatus{Name: "Lunch", Presence: presence.Away})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		for _, id := range []string{"3", "4"} {
			if r, ok := alice.reply(id); !ok || r.Err == nil || r.Err.Code != CodeUnavailable {
				t.Errorf("command %s during the outage: %+v, want unavailable", id, r)
			}
		}
		// Applied before the outage was known, but not saved: not ok. It
		// is kept and saved once the store is back (below).
		if r, _ := alice.reply("2"); r == nil || r.Err == nil || r.Err.Code != CodeUnavailable {
			t.Errorf("command 2, whose write failed: %+v, want unavailable", r)
		}

		st.setDown(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if !h.Healthy() {
			t.Fatal("hub not healthy after the store came back")
		}
		if u, _ := st.user("alice"); u.Manual != presence.Away || u.Text != "accepted" {
			t.Errorf("stored alice = %+v, want the change accepted before the outage", u)
		}
		if n := strings.Count(logs.String(), "store unreachable"); n != 1 {
			t.Errorf("%d outage lines logged, want 1:\n%s", n, logs.String())
		}
		if n := strings.Count(logs.String(), "store reachable again"); n != 1 {
			t.Errorf("%d recovery lines logged, want 1", n)
		}
		h.Disconnect(1)
	})
}

func TestLastSeenSavedOnDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		h := New(Config{Store: st})
		stop := run(t, h)
		h.Connect(ConnInfo{ID: 1, User: "alice"}, &sink{})
		time.Sleep(time.Minute)
		h.Disconnect(1)
		stop() // Run writes what is pending before it returns
		u, ok := st.user("alice")
		if !ok || u.LastSeen.IsZero() || !u.LastSeen.Equal(time.Now()) {
			t.Errorf("stored alice = %+v, want last seen now", u)
		}
	})
}

func TestCommandsOfUnknownConnectionAreIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore()})
		defer run(t, h)()
		h.Do(42, "x", Idle{})
		h.Disconnect(42)
		synctest.Wait() // nothing to assert but that the hub lives on
		if _, ok := h.Tally(context.Background()); !ok {
			t.Fatal("hub stopped")
		}
	})
}

func TestAfterStopCallersDoNotBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore(), Inbox: 1})
		run(t, h)()
		for range 10 {
			if h.Do(1, "", Idle{}) {
				t.Fatal("Do accepted a command after Run returned")
			}
		}
	})
}

// gatedStore holds every PutSettings until release is closed, and records
// whether two calls were ever in flight at once.
type gatedStore struct {
	store.Store
	release  chan struct{}
	inFlight atomic.Int32
	overlap  atomic.Bool
}

func (g *gatedStore) enter() func() {
	if g.inFlight.Add(1) > 1 {
		g.overlap.Store(true)
	}
	return func() { g.inFlight.Add(-1) }
}

func (g *gatedStore) PutSettings(ctx context.Context, s store.Settings) error {
	defer g.enter()()
	<-g.release
	return g.Store.PutSettings(ctx, s)
}

func (g *gatedStore) PutUser(ctx context.Context, u store.User) error {
	defer g.enter()()
	return g.Store.PutUser(ctx, u)
}

func (g *gatedStore) PutUsers(ctx context.Context, us []store.User) error {
	defer g.enter()()
	return g.Store.PutUsers(ctx, us)
}

// A hub stops while an admin job is in the writer and commands fill its
// one-slot inbox: Run still returns, refuses what comes after the loop has
// stopped, and saves what is pending only once the writer is done.
func TestStopWithPendingAdminJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := newMemStore()
		st := &gatedStore{Store: mem, release: make(chan struct{})}
		h := New(Config{Store: st, Inbox: 1})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx) }()
		<-h.Ready()
		h.Connect(ConnInfo{ID: 1, User: "alice", Admin: true}, &sink{})
		h.Do(1, "s", AdminSettings{IdleLimit: time.Minute})
		synctest.Wait() // the writer holds the job, waiting for the store
		h.Disconnect(1) // alice's last seen is pending
		synctest.Wait()

		cancel()
		synctest.Wait()
		if h.Do(1, "late", Idle{}) {
			t.Error("Do accepted a command after the loop stopped")
		}
		close(st.release) // the job's outcome now needs the inbox
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("Run did not return")
		}
		if st.overlap.Load() {
			t.Error("drain wrote while the writer was still writing")
		}
		if u, ok := mem.user("alice"); !ok || u.LastSeen.IsZero() {
			t.Errorf("stored alice = %+v, want her last seen saved at stop", u)
		}
	})
}
