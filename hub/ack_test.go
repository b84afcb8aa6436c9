package hub

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/store"
)

// heldStore holds each PutUsers until the test lets it through, and
// counts the calls and what they carried.
type heldStore struct {
	*memStore
	gate chan struct{} // one receive per PutUsers

	mu      sync.Mutex
	batches [][]store.User
}

func newHeldStore() *heldStore {
	return &heldStore{memStore: newMemStore(), gate: make(chan struct{})}
}

func (g *heldStore) PutUsers(ctx context.Context, us []store.User) error {
	<-g.gate
	g.mu.Lock()
	g.batches = append(g.batches, us)
	g.mu.Unlock()
	return g.memStore.PutUsers(ctx, us)
}

func (g *heldStore) calls() [][]store.User {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.batches
}

// TestOKOnlyOnceSaved: the ok to set_status, set_custom_status and
// set_prefs waits for the store; subscribers see the change at once.
func TestOKOnlyOnceSaved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newHeldStore()
		h := New(Config{Store: st})
		defer run(t, h)()
		defer close(st.gate) // let the last writes through at shutdown
		alice, watcher := &sink{}, &sink{}
		h.Connect(ConnInfo{ID: 1, User: "alice"}, alice)
		h.Connect(ConnInfo{ID: 2, User: "bob"}, watcher)
		h.Do(2, "s", Subscribe{Users: []string{"alice"}})
		synctest.Wait()

		for _, cmd := range []struct {
			id  string
			cmd Command
		}{
			{"status", SetStatus{Manual: presence.Busy, Text: "in a call"}},
			{"prefs", SetPrefs{AutoAway: ptr(false)}},
		} {
			h.Do(1, cmd.id, cmd.cmd)
			synctest.Wait()
			if r, ok := alice.reply(cmd.id); ok {
				t.Errorf("%s answered %+v before the store had it", cmd.id, r)
			}
			st.gate <- struct{}{}
			synctest.Wait()
			if r, ok := alice.reply(cmd.id); !ok || r.Err != nil {
				t.Errorf("%s after the store took it: %+v, want ok", cmd.id, r)
			}
		}
		if e, _ := watcher.last("alice"); e.Status != presence.Busy {
			t.Errorf("bob sees alice %v, want busy", e.Status)
		}
		if u, _ := st.user("alice"); u.Manual != presence.Busy || u.AutoAway {
			t.Errorf("stored alice = %+v", u)
		}
	})
}

// TestWritesTogetherShareOneCommit: changes that arrive while a write is
// under way go to the store in one PutUsers, and are all answered when it
// returns.
func TestWritesTogetherShareOneCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newHeldStore()
		h := New(Config{Store: st, Edition: Enterprise})
		defer run(t, h)()
		defer close(st.gate)
		const users = 50
		sinks := make([]*sink, users)
		for i := range sinks {
			sinks[i] = &sink{}
			h.Connect(ConnInfo{ID: ConnID(i + 1), User: fmt.Sprintf("u%d", i)}, sinks[i])
		}
		h.Do(1, "first", SetStatus{Manual: presence.Away})
		synctest.Wait() // the writer is in PutUsers with u0, held
		for i := range users {
			h.Do(ConnID(i+1), "next", SetStatus{Manual: presence.Busy, Text: "together"})
		}
		synctest.Wait()
		st.gate <- struct{}{} // the first write
		st.gate <- struct{}{} // the next round: every user at once
		synctest.Wait()
		calls := st.calls()
		if len(calls) != 2 || len(calls[1]) != users {
			sizes := []int{}
			for _, c := range calls {
				sizes = append(sizes, len(c))
			}
			t.Fatalf("PutUsers calls of sizes %v, want [1 %d]", sizes, users)
		}
		for i, s := range sinks {
			if r, ok := s.reply("next"); !ok || r.Err != nil {
				t.Errorf("u%d: %+v, want ok", i, r)
			}
		}
	})
}

// TestRepliesInCommandOrder: a reply that waits for the store holds back
// the replies of the connection's later commands.
func TestRepliesInCommandOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newHeldStore()
		h := New(Config{Store: st})
		defer run(t, h)()
		defer close(st.gate)
		alice := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "alice"}, alice)
		h.Do(1, "1", SetStatus{Manual: presence.Busy})
		h.Do(1, "2", Query{Users: []string{"bob"}})
		h.Do(1, "3", Activity{})
		synctest.Wait()
		if _, ok := alice.reply("2"); ok {
			t.Fatal("query answered before the set_status sent before it")
		}
		st.gate <- struct{}{}
		synctest.Wait()
		var order []string
		alice.mu.Lock()
		for _, m := range alice.messages {
			if r, ok := m.(*Reply); ok {
				order = append(order, r.RequestID)
			}
		}
		alice.mu.Unlock()
		if fmt.Sprint(order) != "[1 2 3]" {
			t.Errorf("replies in order %v, want [1 2 3]", order)
		}
	})
}

// TestNotSavedIsNotOK: a write the store refuses is answered unavailable;
// the change is kept and saved once the store is back.
func TestNotSavedIsNotOK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		h := New(Config{Store: st})
		defer run(t, h)()
		alice := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "alice"}, alice)
		synctest.Wait()
		st.setDown(true)
		h.Do(1, "1", SetStatus{Manual: presence.Away, Text: "not saved yet"})
		synctest.Wait()
		if r, ok := alice.reply("1"); !ok || r.Err == nil || r.Err.Code != CodeUnavailable {
			t.Errorf("a change the store refused: %+v, want unavailable", r)
		}
		st.setDown(false)
		synctest.Wait()
		for range 20 { // the writer retries with backoff
			if u, _ := st.user("alice"); u.Text == "not saved yet" {
				break
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if u, _ := st.user("alice"); u.Text != "not saved yet" {
			t.Errorf("stored alice = %+v, want the change saved once the store is back", u)
		}
		h.Disconnect(1)
	})
}
