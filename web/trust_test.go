package web

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/internal/wstest"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/web/wire"
)

// Tests of issue 11 over real sockets: reasons, the reconnect grace, bye,
// status expiry and history.

func TestEntriesSayWhy(t *testing.T) {
	n := startNode(t, options{})
	alice := n.connect(t, "alice", false)
	if s := alice.Welcome.Self; s.Reason == nil || *s.Reason != "connect" || s.Until != nil {
		t.Errorf("welcome self = %+v, want reason connect and until null", s)
	}
	snap := alice.OK(map[string]any{"type": "subscribe", "users": []string{"bob"}})
	if e := entryOf(t, snap, "bob"); e.Reason != nil || e.Until != nil {
		t.Errorf("never-seen bob = %+v, want reason and until null", e)
	}
	bob := n.connect(t, "bob", false)
	steps := []struct {
		cmd    map[string]any
		status string
		reason string
	}{
		{nil, "online", "connect"},
		{map[string]any{"type": "idle"}, "away", "idle"},
		{map[string]any{"type": "activity"}, "online", "active"},
		{map[string]any{"type": "set_status", "status": "busy", "text": "Focus"}, "busy", "manual"},
	}
	for _, s := range steps {
		if s.cmd != nil {
			bob.OK(s.cmd)
		}
		if e := alice.PresenceOf("bob", s.status); wstest.ReasonOf(e) != s.reason {
			t.Errorf("after %v: bob = %+v, want reason %s", s.cmd, e, s.reason)
		}
	}
}

// TestReloadInsideGraceIsInvisible reloads a page: the socket closes and a
// new one of the same user opens inside the grace. Subscribers get no frame
// and since is kept. carol, who leaves at the same moment and does not come
// back, is the clock: once her offline arrives the grace is over.
func TestReloadInsideGraceIsInvisible(t *testing.T) {
	n := startNode(t, options{hub: hub.Config{OfflineGrace: 300 * time.Millisecond}})
	watcher := n.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"alice", "carol"}})
	alice := n.connect(t, "alice", false)
	carol := n.connect(t, "carol", false)
	before := watcher.PresenceOf("alice", "online")
	watcher.Sees("carol", "online")
	watcher.Backlog = nil

	left := time.Now()
	alice.WS.Close(websocket.StatusGoingAway, "reload")
	carol.WS.Close(websocket.StatusGoingAway, "closed the tab")
	n.connect(t, "alice", false)
	if e := watcher.PresenceOf("carol", "offline"); wstest.ReasonOf(e) != "disconnect" {
		t.Errorf("carol = %+v, want offline with reason disconnect", e)
	}
	if d := time.Since(left); d < 300*time.Millisecond {
		t.Errorf("carol read offline %v after leaving, before the grace ended", d)
	}
	for _, f := range watcher.Backlog {
		if wstest.Carries(f, "alice") {
			t.Errorf("the reload sent a frame: %+v", f)
		}
	}
	q := watcher.OK(map[string]any{"type": "query", "users": []string{"alice"}})
	if e := entryOf(t, q, "alice"); e.Status != "online" || e.Since == nil || !e.Since.Equal(before.Since.Time) {
		t.Errorf("alice after the reload = %+v, want online since %v", e, before.Since)
	}
}

// TestGraceEndsOffline times a clean close and a broken socket: both keep
// the status for the grace, then read offline with reason disconnect.
func TestGraceEndsOffline(t *testing.T) {
	const grace = 400 * time.Millisecond
	for _, tt := range []struct {
		name  string
		leave func(c *client)
	}{
		{"close frame", func(c *client) { c.WS.Close(websocket.StatusNormalClosure, "") }},
		{"broken socket", func(c *client) { c.WS.CloseNow() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := startNode(t, options{hub: hub.Config{OfflineGrace: grace}})
			watcher := n.connect(t, "watcher", true)
			watcher.OK(map[string]any{"type": "subscribe", "users": []string{"alice"}})
			alice := n.connect(t, "alice", false)
			watcher.PresenceOf("alice", "online")
			left := time.Now()
			tt.leave(alice)
			// The closed socket stops counting as soon as the server
			// notices, while alice is still held.
			for deadline := time.Now().Add(waitFor); ; {
				f := watcher.OK(map[string]any{"type": "admin.stats"})
				if f.Connections == 1 {
					if f.UsersOnline != 1 {
						t.Errorf("users_online = %d while alice is held, want 1 (the watcher)", f.UsersOnline)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("connections = %d after alice left, want 1", f.Connections)
				}
			}
			e := watcher.PresenceOf("alice", "offline")
			took := time.Since(left)
			t.Logf("%s: offline after %v (grace %v)", tt.name, took.Round(time.Millisecond), grace)
			if wstest.ReasonOf(e) != "disconnect" || took < grace || took > grace+time.Second {
				t.Errorf("alice = %+v after %v, want offline with reason disconnect between %v and %v", e, took, grace, grace+time.Second)
			}
			if e.LastSeen == nil || e.LastSeen.Before(left.Add(-time.Second)) || e.LastSeen.After(left.Add(grace/2)) {
				t.Errorf("last_seen = %v, want when alice left (%v)", e.LastSeen, left)
			}
		})
	}
}

// TestByeSkipsGrace: bye is answered, the server closes the connection, and
// the user reads offline at once, though the grace is long.
func TestByeSkipsGrace(t *testing.T) {
	n := startNode(t, options{hub: hub.Config{OfflineGrace: time.Minute}})
	watcher := n.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"alice"}})
	alice := n.connect(t, "alice", false)
	watcher.PresenceOf("alice", "online")
	start := time.Now()
	alice.OK(map[string]any{"type": "bye"})
	e := watcher.PresenceOf("alice", "offline")
	took := time.Since(start)
	t.Logf("bye: offline after %v", took.Round(time.Millisecond))
	if wstest.ReasonOf(e) != "disconnect" || took > time.Second {
		t.Errorf("alice = %+v after %v, want offline with reason disconnect within 1 s", e, took)
	}
	if code := alice.Closed(); code != websocket.StatusNormalClosure {
		t.Errorf("after bye the connection closed with %d, want 1000", code)
	}
}

// TestHeartbeatDeadGetsNoGrace: a silent client is dead after 2.5
// heartbeats and reads offline then, with no grace on top.
func TestHeartbeatDeadGetsNoGrace(t *testing.T) {
	n := startNode(t, options{hub: hub.Config{OfflineGrace: time.Minute}, web: Config{Heartbeat: 100 * time.Millisecond}})
	watcher := n.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"bob"}})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws := n.silent(t, "bob")
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e := watcher.PresenceOf("bob", "offline")
	took := time.Since(start)
	t.Logf("silent client: offline after %v (heartbeat 100ms: dead after 250ms)", took.Round(time.Millisecond))
	if wstest.ReasonOf(e) != "heartbeat" || took > 2*time.Second {
		t.Errorf("bob = %+v after %v, want offline with reason heartbeat, not after the minute's grace", e, took)
	}
}

// TestManyReloadsSendNothing reloads 200 users at once, with the default
// grace (their reconnects take a while under -race): the subscriber to all
// of them gets no presence frame about any.
func TestManyReloadsSendNothing(t *testing.T) {
	const users = 200
	n := startNode(t, options{hub: hub.Config{OfflineGrace: 5 * time.Second, Edition: hub.Enterprise},
		web: Config{RateLimit: 1e6, RateBurst: 1e6}})
	watcher := n.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "all": true})
	clients := make([]*client, users)
	for i := range clients {
		clients[i] = n.connect(t, userName(i), false)
	}
	for i := range clients {
		watcher.Sees(userName(i), "online")
	}
	clock := n.connect(t, "clock", false)
	watcher.Sees("clock", "online")
	watcher.Backlog = nil

	start := time.Now()
	for _, c := range clients {
		c.WS.Close(websocket.StatusGoingAway, "reload")
	}
	clock.WS.Close(websocket.StatusGoingAway, "")
	for i := range clients {
		n.connect(t, userName(i), false)
	}
	t.Logf("%d users closed and reconnected in %v", users, time.Since(start).Round(time.Millisecond))
	watcher.PresenceOf("clock", "offline") // the grace is over
	frames := 0
	for _, f := range watcher.Backlog {
		for i := range users {
			if wstest.Carries(f, userName(i)) {
				frames++
				break
			}
		}
	}
	t.Logf("%d users reloaded at once: %d presence frames about them", users, frames)
	if frames != 0 {
		t.Errorf("%d presence frames about reloading users, want none", frames)
	}
}

func userName(i int) string { return fmt.Sprintf("user-%03d", i) }

// TestStatusExpiresOverSocket sets busy until two seconds from now: it
// clears at until, with reason expired, within a second.
func TestStatusExpiresOverSocket(t *testing.T) {
	n := startNode(t, options{})
	watcher := n.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"alice"}})
	alice := n.connect(t, "alice", false)
	watcher.PresenceOf("alice", "online")
	until := time.Now().Add(2 * time.Second).Truncate(time.Second)
	f := alice.OK(map[string]any{"type": "set_status", "status": "busy", "text": "Lunch", "until": until.Format(time.RFC3339)})
	if f.Self == nil || f.Self.Until == nil || !f.Self.Until.Equal(until) {
		t.Errorf("self = %+v, want until %v", f.Self, until)
	}
	if e := watcher.PresenceOf("alice", "busy"); e.Until == nil || !e.Until.Equal(until) || wstest.ReasonOf(e) != "manual" {
		t.Errorf("busy alice = %+v, want until %v and reason manual", e, until)
	}
	e := watcher.PresenceOf("alice", "online")
	late := time.Since(until)
	t.Logf("expiry seen %v after until", late.Round(time.Millisecond))
	if wstest.ReasonOf(e) != "expired" || e.Until != nil || e.Text != "" || late < 0 || late > time.Second {
		t.Errorf("alice = %+v, %v after until; want online, reason expired, until null, no text, within 1 s", e, late)
	}
}

func TestExpiryValidation(t *testing.T) {
	n := startNode(t, options{})
	alice := n.connect(t, "alice", true)
	now := time.Now()
	for _, cmd := range []map[string]any{
		{"type": "set_status", "status": "busy", "until": now.Add(-time.Minute).Format(time.RFC3339)},
		{"type": "set_status", "status": "busy", "until": now.Add(367 * 24 * time.Hour).Format(time.RFC3339)},
		{"type": "set_status", "status": "busy", "until": "soon"},
		{"type": "set_status", "status": "busy", "duration_s": 59},
		{"type": "set_status", "status": "busy", "duration_s": 3600, "until": now.Add(time.Hour).Format(time.RFC3339)},
		{"type": "admin.statuses.create", "name": "Lunch", "presence": "away", "duration_s": 31622401},
		{"type": "history", "limit": 0},
		{"type": "history", "limit": 101},
	} {
		alice.Fail(cmd, "bad_request")
	}
	if f := alice.Do(map[string]any{"type": "ping"}); f.Type != "pong" {
		t.Errorf("the connection did not survive bad input: %+v", f)
	}
}

// TestCustomStatusDuration: a custom status's default duration applies to a
// pick without until, and shows in welcome and events.
func TestCustomStatusDuration(t *testing.T) {
	n := startNode(t, options{})
	admin := n.connect(t, "admin", true)
	f := admin.OK(map[string]any{"type": "admin.statuses.create", "name": "In a meeting", "presence": "busy", "duration_s": 3600})
	if f.Status == nil || f.Status.DurationS == nil || *f.Status.DurationS != 3600 {
		t.Fatalf("created status = %+v, want duration_s 3600", f.Status)
	}
	ev := admin.Next(wire.TypeStatuses)
	if ev.Status == nil || ev.Status.DurationS == nil || *ev.Status.DurationS != 3600 {
		t.Errorf("statuses event = %+v", ev.Status)
	}
	alice := n.connect(t, "alice", false)
	if len(alice.Welcome.Statuses) != 1 || alice.Welcome.Statuses[0].DurationS == nil {
		t.Errorf("welcome statuses = %+v", alice.Welcome.Statuses)
	}
	start := time.Now()
	f = alice.OK(map[string]any{"type": "set_custom_status", "custom": f.Status.ID})
	if u := f.Self.Until; u == nil || u.Before(start.Add(time.Hour-time.Second)) || u.After(time.Now().Add(time.Hour)) {
		t.Errorf("until = %v, want an hour from the pick", u)
	}
	f = alice.OK(map[string]any{"type": "set_custom_status", "custom": f.Self.Custom, "duration_s": 600})
	if u := f.Self.Until; u == nil || u.After(time.Now().Add(10*time.Minute)) {
		t.Errorf("until = %v, want the pick's own 10 minutes over the default", u)
	}
	f = admin.OK(map[string]any{"type": "admin.statuses.update", "custom": *f.Self.Custom, "name": "In a meeting", "presence": "busy"})
	if f.Status.DurationS != nil {
		t.Errorf("updated without duration_s = %+v, want null", f.Status)
	}
}

// TestExpiredWhileDownClearedAtLoad: a status whose until passed while the
// server was down is cleared when it loads.
func TestExpiredWhileDownClearedAtLoad(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, options{dir: dir})
	ctx := context.Background()
	past := time.Now().Add(-time.Minute)
	for _, u := range []store.User{
		{ID: "alice", Manual: presence.Busy, Text: "Lunch", AutoAway: true, Until: past},
		{ID: "bob", Manual: presence.Busy, Text: "Focus", AutoAway: true, Until: time.Now().Add(time.Hour)},
	} {
		if err := n.store.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	n.stop()
	m := startNode(t, options{dir: dir})
	alice := m.connect(t, "alice", false)
	if s := alice.Welcome.Self; s.Manual != "online" || s.Text != "" || s.Until != nil {
		t.Errorf("alice after restart = %+v, want her expired status cleared", s)
	}
	bob := m.connect(t, "bob", false)
	if s := bob.Welcome.Self; s.Manual != "busy" || s.Until == nil {
		t.Errorf("bob after restart = %+v, want busy with until", s)
	}
}

func TestHistoryOverSocket(t *testing.T) {
	n := startNode(t, options{})
	bob := n.connect(t, "bob", false)
	bob.OK(map[string]any{"type": "idle"})
	bob.OK(map[string]any{"type": "activity"})
	bob.OK(map[string]any{"type": "set_status", "status": "busy", "text": "Focus"})
	bob.OK(map[string]any{"type": "set_status", "status": "busy", "text": "Still focused"}) // text only: not a transition

	f := bob.OK(map[string]any{"type": "history"})
	type item struct{ status, previous, reason string }
	want := []item{{"busy", "online", "manual"}, {"online", "away", "active"}, {"away", "online", "idle"}, {"online", "offline", "connect"}}
	if len(f.History) != len(want) {
		t.Fatalf("history = %+v, want %d items", f.History, len(want))
	}
	for i, w := range want {
		if got := f.History[i]; (item{got.Status, got.Previous, got.Reason}) != w || got.At.IsZero() {
			t.Errorf("history[%d] = %+v, want %+v", i, got, w)
		}
	}
	if f.History[0].Text != "Focus" {
		t.Errorf("newest item text = %q, want Focus", f.History[0].Text)
	}
	if f := bob.OK(map[string]any{"type": "history", "limit": 2}); len(f.History) != 2 || f.History[0].Status != "busy" {
		t.Errorf("history limit 2 = %+v", f.History)
	}

	alice := n.connect(t, "alice", false)
	alice.Fail(map[string]any{"type": "history", "user": "bob"}, "forbidden")
	admin := n.connect(t, "admin", true)
	if f := admin.OK(map[string]any{"type": "history", "user": "bob"}); len(f.History) != len(want) {
		t.Errorf("admin's history of bob = %+v", f.History)
	}
	if f := admin.OK(map[string]any{"type": "history", "user": "nobody"}); f.History == nil || len(f.History) != 0 {
		t.Errorf("history of a user never seen = %+v, want []", f.History)
	}
}
