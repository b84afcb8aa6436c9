package hub

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// Issue 11 in the hub, under synctest: reasons, the reconnect grace on the
// deadline heap, bye, expiry to the second, history, and the change hook.

// about counts the entries of user that s got.
func (s *sink) about(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.presence {
		if e.User == user {
			n++
		}
	}
	return n
}

// ask queries user through the watcher's connection (100).
func ask(h *Hub, w *sink, user string) Entry {
	id := fmt.Sprintf("q%d", time.Now().UnixNano())
	h.Do(100, id, Query{Users: []string{user}})
	synctest.Wait()
	r, _ := w.reply(id)
	return r.Result.(Entries)[0]
}

// watch connects a watcher subscribed to users as connection 100.
func watch(h *Hub, users ...string) *sink {
	w := &sink{}
	h.Connect(ConnInfo{ID: 100, User: "watcher"}, w)
	h.Do(100, "w", Subscribe{Users: users})
	return w
}

func TestGraceHoldsStatusThenOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore(), OfflineGrace: 5 * time.Second})
		defer run(t, h)()
		w := watch(h, "bob")
		h.Connect(ConnInfo{ID: 1, User: "bob"}, &sink{})
		synctest.Wait()
		online, _ := w.last("bob")
		if online.Status != presence.Online || online.Reason != presence.ReasonConnect {
			t.Fatalf("bob = %+v, want online, reason connect", online)
		}
		n := w.about("bob")
		left := time.Now()
		h.Disconnect(1)
		time.Sleep(5*time.Second - time.Millisecond)
		synctest.Wait()
		if w.about("bob") != n {
			t.Fatalf("bob's subscribers heard of the close inside the grace: %+v", w.presence)
		}
		if e := ask(h, w, "bob"); e.Status != presence.Online {
			t.Errorf("a query inside the grace reads %v, want online", e.Status)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		e, _ := w.last("bob")
		if e.Status != presence.Offline || e.Reason != presence.ReasonDisconnect || !e.LastSeen.Equal(left) {
			t.Errorf("after the grace bob = %+v, want offline, reason disconnect, last seen at the close %v", e, left)
		}
		h.Disconnect(100)
	})
}

func TestReconnectInsideGraceIsInvisible(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var changes changeLog
		h := New(Config{Store: newMemStore(), OfflineGrace: 5 * time.Second, Changes: &changes})
		defer run(t, h)()
		w := watch(h, "bob")
		h.Connect(ConnInfo{ID: 1, User: "bob"}, &sink{})
		synctest.Wait()
		before, _ := w.last("bob")
		n, hooked := w.about("bob"), changes.len()
		h.Disconnect(1)
		time.Sleep(3 * time.Second)
		h.Connect(ConnInfo{ID: 2, User: "bob"}, &sink{})
		time.Sleep(time.Minute)
		synctest.Wait()
		if w.about("bob") != n || changes.len() != hooked {
			t.Errorf("a reconnect inside the grace was seen: entries %+v, hook %+v", w.presence, changes.all())
		}
		if e := ask(h, w, "bob"); e.Status != presence.Online || !e.Since.Equal(before.Since) {
			t.Errorf("bob = %+v, want online since %v", e, before.Since)
		}
		h.Disconnect(2)
		h.Disconnect(100)
	})
}

func TestNoGraceWhereTheWaitHappened(t *testing.T) {
	for _, tt := range []struct {
		name   string
		grace  time.Duration
		leave  func(h *Hub)
		reason presence.Reason
	}{
		{"dead heartbeat", time.Minute, func(h *Hub) { h.DisconnectDead(1) }, presence.ReasonHeartbeat},
		{"bye", time.Minute, func(h *Hub) { h.Do(1, "b", Bye{}) }, presence.ReasonDisconnect},
		{"grace off", 0, func(h *Hub) { h.Disconnect(1) }, presence.ReasonDisconnect},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := New(Config{Store: newMemStore(), OfflineGrace: tt.grace})
				defer run(t, h)()
				w := watch(h, "bob")
				bob := &sink{}
				h.Connect(ConnInfo{ID: 1, User: "bob"}, bob)
				synctest.Wait()
				tt.leave(h)
				synctest.Wait()
				if e, _ := w.last("bob"); e.Status != presence.Offline || e.Reason != tt.reason {
					t.Errorf("bob = %+v at once, want offline with reason %v", e, tt.reason)
				}
				h.Disconnect(1) // after bye: the web's own disconnect, a no-op
				h.Disconnect(100)
			})
		})
	}
}

func TestByeRepliesAndCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore(), OfflineGrace: time.Minute})
		defer run(t, h)()
		bob := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "bob"}, bob)
		h.Connect(ConnInfo{ID: 2, User: "bob"}, &sink{}) // another tab stays
		h.Do(1, "b", Bye{})
		synctest.Wait()
		if r, ok := bob.reply("b"); !ok || r.Err != nil {
			t.Errorf("bye answered %+v", r)
		}
		if bob.closedReason() != CloseBye {
			t.Errorf("bye closed the connection with %v, want CloseBye", bob.closedReason())
		}
		if tl, _ := h.Tally(t.Context()); tl.Connections != 1 || tl.Online != 1 {
			t.Errorf("tally after bye = %+v, want the other tab alone", tl)
		}
		h.Disconnect(2)
	})
}

func TestGraceConnectionsDoNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore(), OfflineGrace: time.Minute, Limit: 2})
		defer run(t, h)()
		admin := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "root", Admin: true}, admin)
		h.Connect(ConnInfo{ID: 2, User: "bob"}, &sink{})
		h.Disconnect(2) // held for a minute, closed
		h.Connect(ConnInfo{ID: 3, User: "carol"}, &sink{})
		h.Do(1, "s", AdminStats{})
		synctest.Wait()
		r, _ := admin.reply("s")
		st := r.Result.(Stats)
		if st.Service.Connections != 2 || !st.Service.Enabled || st.UsersOnline != 2 {
			t.Errorf("stats = %+v, want 2 live connections, enabled, 2 users online (bob is held, not online)", st)
		}
		h.Disconnect(1)
		h.Disconnect(3)
	})
}

func TestStatusExpiresToTheSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		var changes changeLog
		h := New(Config{Store: st, Changes: &changes})
		defer run(t, h)()
		w := watch(h, "bob")
		bob := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "bob"}, bob)
		until := time.Now().Add(90 * time.Second)
		h.Do(1, "s", SetStatus{Manual: presence.Busy, Text: "Lunch", Lifetime: status.Lifetime{Until: until}})
		synctest.Wait()
		if e, _ := w.last("bob"); e.Status != presence.Busy || !e.Until.Equal(until) || e.Reason != presence.ReasonManual {
			t.Fatalf("bob = %+v, want busy until %v, reason manual", e, until)
		}
		time.Sleep(90*time.Second - time.Millisecond)
		synctest.Wait()
		if e, _ := w.last("bob"); e.Status != presence.Busy {
			t.Fatalf("a millisecond before until bob = %v", e.Status)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		e, _ := w.last("bob")
		if e.Status != presence.Online || e.Reason != presence.ReasonExpired || !e.Until.IsZero() || e.Text != "" || !e.Since.Equal(until) {
			t.Errorf("at until bob = %+v, want online, reason expired, no until, no text, since until", e)
		}
		last := changes.all()[changes.len()-1]
		if last.User != "bob" || last.Status != presence.Online || last.Previous != presence.Busy || last.Reason != presence.ReasonExpired {
			t.Errorf("last change = %+v, want bob busy -> online, expired", last)
		}
		h.Disconnect(1)
		h.Disconnect(100)
	})
}

func TestLifetimeOfAPick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore()})
		defer run(t, h)()
		bob := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "bob", Admin: true}, bob)
		h.Do(1, "c", CreateStatus{Name: "In a meeting", Presence: presence.Busy, Duration: time.Hour})
		synctest.Wait()
		r, _ := bob.reply("c")
		cs := r.Result.(StatusResult).Status
		if cs.Duration != time.Hour {
			t.Fatalf("created %+v, want a duration of an hour", cs)
		}
		start := time.Now()
		for _, tt := range []struct {
			id   string
			cmd  Command
			want time.Time
			code string
		}{
			{"default", SetCustomStatus{Custom: cs.ID}, start.Add(time.Hour), ""},
			{"own duration", SetCustomStatus{Custom: cs.ID, Lifetime: status.Lifetime{Duration: 10 * time.Minute}}, start.Add(10 * time.Minute), ""},
			{"no default for plain statuses", SetStatus{Manual: presence.Away}, time.Time{}, ""},
			{"past", SetStatus{Manual: presence.Away, Lifetime: status.Lifetime{Until: start.Add(-time.Second)}}, time.Time{}, CodeBadRequest},
			{"too far", SetStatus{Manual: presence.Away, Lifetime: status.Lifetime{Until: start.Add(367 * 24 * time.Hour)}}, time.Time{}, CodeBadRequest},
		} {
			h.Do(1, tt.id, tt.cmd)
			synctest.Wait()
			r, _ := bob.reply(tt.id)
			switch {
			case tt.code != "":
				if r.Err == nil || r.Err.Code != tt.code {
					t.Errorf("%s: %+v, want %s", tt.id, r, tt.code)
				}
			case r.Err != nil:
				t.Errorf("%s: %+v", tt.id, r.Err)
			case !r.Result.(SelfResult).Self.Until.Equal(tt.want):
				t.Errorf("%s: until %v, want %v", tt.id, r.Result.(SelfResult).Self.Until, tt.want)
			}
		}
		h.Disconnect(1)
	})
}

func TestExpiredWhileDownIsClearedAtLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		st.PutUser(t.Context(), store.User{ID: "bob", Manual: presence.Busy, Text: "Lunch", AutoAway: true, Until: time.Now().Add(-time.Second)})
		h := New(Config{Store: st})
		defer run(t, h)()
		bob := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "bob"}, bob)
		synctest.Wait()
		if s := bob.welcome().Self; s.Manual != presence.Online || s.Text != "" || !s.Until.IsZero() {
			t.Errorf("self = %+v, want the expired status cleared", s)
		}
		h.Disconnect(1)
	})
}

func TestHistoryOfTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore(), IdleLimit: time.Minute})
		defer run(t, h)()
		bob, admin, eve := &sink{}, &sink{}, &sink{}
		h.Connect(ConnInfo{ID: 1, User: "bob"}, bob)
		h.Connect(ConnInfo{ID: 2, User: "root", Admin: true}, admin)
		h.Connect(ConnInfo{ID: 3, User: "eve"}, eve)
		time.Sleep(time.Minute) // idle
		h.Do(1, "a", Activity{})
		h.Do(1, "s", SetStatus{Manual: presence.Busy, Text: "Focus"})
		h.Do(1, "t", SetStatus{Manual: presence.Busy, Text: "Still"}) // text only: no item
		h.Do(1, "h", History{Limit: 20})
		h.Do(2, "h", History{User: "bob", Limit: 2})
		h.Do(3, "h", History{User: "bob", Limit: 20})
		synctest.Wait()
		r, _ := bob.reply("h")
		items := r.Result.(HistoryResult).Items
		want := []presence.Reason{presence.ReasonManual, presence.ReasonActive, presence.ReasonIdle, presence.ReasonConnect}
		if len(items) != len(want) {
			t.Fatalf("history = %+v, want %d items", items, len(want))
		}
		for i, w := range want {
			if items[i].Reason != w {
				t.Errorf("item %d = %+v, want reason %v", i, items[i], w)
			}
		}
		if it := items[3]; it.Previous != presence.Offline || it.Status != presence.Online {
			t.Errorf("first item = %+v, want offline -> online", it)
		}
		if r, _ := admin.reply("h"); len(r.Result.(HistoryResult).Items) != 2 {
			t.Errorf("admin's history of bob = %+v, want 2 items", r)
		}
		if r, _ := eve.reply("h"); r.Err == nil || r.Err.Code != CodeForbidden {
			t.Errorf("eve's history of bob = %+v, want forbidden", r)
		}
		for id := ConnID(1); id <= 3; id++ {
			h.DisconnectDead(id)
		}
	})
}

// changeLog is a ChangeSink that keeps what it is told.
type changeLog struct {
	mu       sync.Mutex
	presence []PresenceChange
	service  []ServiceChange
	catalog  []CatalogChange
}

func (l *changeLog) OnPresence(c PresenceChange) {
	l.mu.Lock()
	l.presence = append(l.presence, c)
	l.mu.Unlock()
}
func (l *changeLog) OnService(c ServiceChange) {
	l.mu.Lock()
	l.service = append(l.service, c)
	l.mu.Unlock()
}
func (l *changeLog) OnCatalog(c CatalogChange) {
	l.mu.Lock()
	l.catalog = append(l.catalog, c)
	l.mu.Unlock()
}
func (l *changeLog) len() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.presence) }
func (l *changeLog) all() []PresenceChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]PresenceChange(nil), l.presence...)
}

func TestChangeSinkSeesWhatSubscribersSee(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var changes changeLog
		h := New(Config{Store: newMemStore(), OfflineGrace: 5 * time.Second, Changes: &changes})
		defer run(t, h)()
		admin := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "root", Admin: true}, admin)
		h.Connect(ConnInfo{ID: 2, User: "bob"}, &sink{})
		h.Do(2, "s", SetStatus{Manual: presence.Busy, Text: "Focus"})
		h.Do(2, "t", SetStatus{Manual: presence.Busy, Text: "Still"}) // text: a change too
		h.Disconnect(2)
		time.Sleep(time.Second)
		h.Connect(ConnInfo{ID: 3, User: "bob"}, &sink{}) // hidden by the grace
		h.Do(1, "c", CreateStatus{Name: "Lunch", Presence: presence.Away})
		h.Do(1, "o", AdminService{Enabled: false})
		time.Sleep(time.Minute)
		synctest.Wait()
		type short struct {
			user     string
			st, prev presence.Status
			text     string
			reason   presence.Reason
		}
		var got []short
		for _, c := range changes.all() {
			got = append(got, short{c.User, c.Status, c.Previous, c.Text, c.Reason})
		}
		want := []short{
			{"root", presence.Online, presence.Offline, "", presence.ReasonConnect},
			{"bob", presence.Online, presence.Offline, "", presence.ReasonConnect},
			{"bob", presence.Busy, presence.Online, "Focus", presence.ReasonManual},
			{"bob", presence.Busy, presence.Busy, "Still", presence.ReasonManual},
		}
		if len(got) != len(want) {
			t.Fatalf("changes = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("change %d = %+v, want %+v", i, got[i], want[i])
			}
		}
		changes.mu.Lock()
		if len(changes.catalog) != 1 || changes.catalog[0].Op != "created" || len(changes.service) != 1 || changes.service[0].Enabled {
			t.Errorf("catalog %+v, service %+v", changes.catalog, changes.service)
		}
		changes.mu.Unlock()
		h.Disconnect(1)
		h.Disconnect(3)
	})
}

func (s *sink) closedReason() CloseReason { s.mu.Lock(); defer s.mu.Unlock(); return s.closed }

// recordingBackplane keeps what the hub publishes.
type recordingBackplane struct {
	countingBackplane
	mu     sync.Mutex
	events []ClusterEvent
}

func (b *recordingBackplane) Publish(ev ClusterEvent) {
	b.mu.Lock()
	b.events = append(b.events, ev)
	b.mu.Unlock()
}

// conns returns the ConnsChanged published about user.
func (b *recordingBackplane) conns(user string) []ConnsChanged {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []ConnsChanged
	for _, ev := range b.events {
		if c, ok := ev.(ConnsChanged); ok && c.User == user {
			out = append(out, c)
		}
	}
	return out
}

// A node tells the others nothing of a closed connection until the grace
// ends, so that they hold the user too; a dead connection it tells at once.
func TestGraceHidesTheCloseFromOtherNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bp := &recordingBackplane{}
		h := New(Config{Store: newMemStore(), Backplane: bp, OfflineGrace: 5 * time.Second})
		defer run(t, h)()
		h.Connect(ConnInfo{ID: 1, User: "bob"}, &sink{})
		h.Connect(ConnInfo{ID: 2, User: "eve"}, &sink{})
		synctest.Wait()
		h.Disconnect(1)
		h.DisconnectDead(2)
		time.Sleep(2 * time.Second)
		// Changes to a held user (a status set through another node) and a
		// republish keep telling the held connection.
		h.Apply(UserChanged{User: store.User{ID: "bob", Manual: presence.Busy, AutoAway: true}})
		if users, _, _ := h.LocalConns(t.Context()); users["bob"] != (presence.Conns{Online: 1}) {
			t.Errorf("republished connections of bob inside the grace: %+v, want his one", users["bob"])
		}
		time.Sleep(3*time.Second - time.Millisecond)
		synctest.Wait()
		if got := bp.conns("bob"); len(got) != 1 || got[0].Conns.Online != 1 || got[0].Reason != presence.ReasonConnect {
			t.Fatalf("published of bob inside the grace: %+v, want only his connect", got)
		}
		if got := bp.conns("eve"); len(got) != 2 || got[1].Conns.Live() || got[1].Reason != presence.ReasonHeartbeat {
			t.Errorf("published of eve: %+v, want her dead connection at once, reason heartbeat", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := bp.conns("bob"); len(got) != 2 || got[1].Conns.Live() || got[1].Reason != presence.ReasonDisconnect {
			t.Errorf("published of bob after the grace: %+v, want zero, reason disconnect", got)
		}
	})
}

// Another node's users: one that stopped cleanly hands over their grace,
// one that died does not; a reconnect on a third node inside the grace
// changes nothing.
func TestOtherNodesGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore(), Backplane: &recordingBackplane{}, OfflineGrace: 5 * time.Second})
		defer run(t, h)()
		w := watch(h, "bob", "eve", "ann")
		for _, u := range []string{"bob", "eve"} {
			h.Apply(ConnsChanged{Node: "n2", User: u, Conns: presence.Conns{Online: 1}, Reason: presence.ReasonConnect})
		}
		h.Apply(ConnsChanged{Node: "n3", User: "ann", Conns: presence.Conns{Online: 1}, Reason: presence.ReasonConnect})
		synctest.Wait()
		n := w.about("bob")
		h.Apply(NodeGone{Node: "n2", Clean: true})
		h.Apply(NodeGone{Node: "n3"}) // died
		synctest.Wait()
		if e, _ := w.last("ann"); e.Status != presence.Offline || e.Reason != presence.ReasonNodeLost {
			t.Errorf("ann = %+v, want offline at once, reason node_lost", e)
		}
		if e, _ := w.last("bob"); e.Status != presence.Online || w.about("bob") != n {
			t.Errorf("bob = %+v, want held online, no frame", e)
		}
		time.Sleep(time.Second)
		h.Apply(ConnsChanged{Node: "n4", User: "bob", Conns: presence.Conns{Online: 1}, Reason: presence.ReasonConnect})
		time.Sleep(time.Minute)
		synctest.Wait()
		if w.about("bob") != n {
			t.Errorf("bob's move to another node was seen: %+v", w.presence)
		}
		if e, _ := w.last("eve"); e.Status != presence.Offline || e.Reason != presence.ReasonDisconnect {
			t.Errorf("eve = %+v after the grace, want offline, reason disconnect", e)
		}
		h.Disconnect(100)
	})
}

// SignOut (the HTTP API's bye) ends every connection of the user, here and
// on the other nodes, with no grace.
func TestSignOutEndsEveryConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bp := &recordingBackplane{}
		h := New(Config{Store: newMemStore(), Backplane: bp, OfflineGrace: time.Minute})
		defer run(t, h)()
		w := watch(h, "bob", "eve")
		phone, laptop, eve := &sink{}, &sink{}, &sink{}
		h.Connect(ConnInfo{ID: 1, User: "bob"}, phone)
		h.Connect(ConnInfo{ID: 2, User: "bob"}, laptop)
		h.Connect(ConnInfo{ID: 3, User: "eve"}, eve)
		h.Do(1, "o", SignOut{})
		h.Apply(SignedOut{User: "eve"}) // signed out on another node
		synctest.Wait()
		if r, ok := phone.reply("o"); !ok || r.Err != nil {
			t.Errorf("sign out answered %+v", r)
		}
		for name, s := range map[string]*sink{"phone": phone, "laptop": laptop, "eve": eve} {
			if s.closedReason() != CloseSignedOut {
				t.Errorf("%s closed with %v, want CloseSignedOut", name, s.closedReason())
			}
		}
		for _, u := range []string{"bob", "eve"} {
			if e, _ := w.last(u); e.Status != presence.Offline || e.Reason != presence.ReasonDisconnect {
				t.Errorf("%s = %+v, want offline at once, reason disconnect", u, e)
			}
		}
		bp.mu.Lock()
		told := false
		for _, ev := range bp.events {
			told = told || ev == ClusterEvent(SignedOut{User: "bob"})
		}
		bp.mu.Unlock()
		if !told {
			t.Error("the other nodes were not told bob signed out")
		}
		h.Disconnect(100)
	})
}
