package hub

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/presenced/presenced/presence"
)

func TestExecSetsStatusOfUserWithNoConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		h := New(Config{Store: st})
		defer run(t, h)()
		watcher := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "carol"}, watcher)
		h.Do(1, "s", Subscribe{Users: []string{"alice"}})
		ctx := context.Background()

		res, err := h.Exec(ctx, Actor{User: "alice"}, SetStatus{Manual: presence.Busy, Text: "on a call"})
		if err != nil {
			t.Fatalf("Exec set status: %v", err)
		}
		self := res.(SelfResult).Self
		if self.Manual != presence.Busy || self.Status != presence.Offline || self.Text != "on a call" {
			t.Fatalf("self = %+v, want manual busy, offline (no connection), the text", self)
		}
		synctest.Wait()
		if rec, ok := st.user("alice"); !ok || rec.Manual != presence.Busy {
			t.Fatalf("stored alice = %+v, %v; want manual busy", rec, ok)
		}
		// Offline is offline whatever the manual status: no frame yet, but
		// the text changed, and subscribers see it.
		if e, ok := watcher.last("alice"); !ok || e.Text != "on a call" || e.Status != presence.Offline {
			t.Fatalf("watcher saw alice = %+v, %v", e, ok)
		}

		// Alice comes online with it.
		h.Connect(ConnInfo{ID: 2, User: "alice"}, &sink{})
		synctest.Wait()
		if e, _ := watcher.last("alice"); e.Status != presence.Busy {
			t.Fatalf("alice connected = %v, want busy", e.Status)
		}
		res, err = h.Exec(ctx, Actor{}, Query{Users: []string{"alice", "nobody"}})
		if err != nil {
			t.Fatalf("Exec query: %v", err)
		}
		es := res.(Entries)
		if len(es) != 2 || es[0].Status != presence.Busy || es[1].Status != presence.Offline || !es[1].Since.IsZero() {
			t.Fatalf("query = %+v", es)
		}
	})
}

func TestExecRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore()})
		stop := run(t, h)
		ctx := context.Background()
		for _, tc := range []struct {
			name  string
			actor Actor
			cmd   Command
			code  string
		}{
			{"admin command for a user", Actor{User: "alice"}, AdminStats{}, CodeForbidden},
			{"a connection's command", Actor{User: "alice", Admin: true}, Subscribe{Users: []string{"bob"}}, CodeBadRequest},
			{"no user to act for", Actor{Admin: true}, SetStatus{Manual: presence.Busy}, CodeBadRequest},
			{"unknown custom status", Actor{User: "alice"}, SetCustomStatus{Custom: "nope"}, CodeNotFound},
		} {
			if _, err := h.Exec(ctx, tc.actor, tc.cmd); err == nil || err.Code != tc.code {
				t.Errorf("%s: err = %v, want %s", tc.name, err, tc.code)
			}
		}
		if _, err := h.Exec(ctx, Actor{Admin: true}, AdminStats{}); err != nil {
			t.Errorf("admin stats as admin: %v", err)
		}

		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := h.Exec(cancelled, Actor{Admin: true}, AdminStats{}); err == nil || err.Code != CodeUnavailable {
			t.Errorf("ended ctx: err = %v, want unavailable", err)
		}
		stop()
		if _, err := h.Exec(ctx, Actor{Admin: true}, AdminStats{}); err == nil || err.Code != CodeUnavailable {
			t.Errorf("stopped hub: err = %v, want unavailable", err)
		}
	})
}
