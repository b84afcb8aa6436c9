package web

import (
	"strings"
	"sync"
	"testing"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web/wire"
)

func TestAdminCommandsNeedAdmin(t *testing.T) {
	n := startNode(t, options{})
	c := n.connect(t, "bob", false)
	for _, cmd := range []map[string]any{
		{"type": "admin.stats"},
		{"type": "admin.service", "enabled": false},
		{"type": "admin.statuses.list"},
		{"type": "admin.statuses.create", "name": "Lunch", "presence": "away"},
		{"type": "admin.statuses.update", "custom": "x", "name": "Lunch", "presence": "away"},
		{"type": "admin.statuses.delete", "custom": "x"},
		{"type": "admin.settings", "idle_limit_s": 600},
	} {
		c.Fail(cmd, "forbidden")
	}
}

func TestCustomStatuses(t *testing.T) {
	n := startNode(t, options{})
	admin := n.connect(t, "root", true)
	bob := n.connect(t, "bob", false)
	watcher := n.connect(t, "alice", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"bob"}})

	f := admin.OK(map[string]any{"type": "admin.statuses.create", "name": "  In a meeting ", "presence": "busy"})
	meeting := f.Status
	if meeting == nil || meeting.Name != "In a meeting" || meeting.Presence != "busy" || len(meeting.ID) != 36 {
		t.Fatalf("created %+v", meeting)
	}
	if ev := bob.Next("statuses"); ev.Op != "created" || ev.Status.ID != meeting.ID {
		t.Errorf("statuses event = %+v", ev)
	}
	if late := n.connect(t, "late", false); len(late.Welcome.Statuses) != 1 || late.Welcome.Statuses[0] != *meeting {
		t.Errorf("welcome catalog = %+v", late.Welcome.Statuses)
	}

	admin.Fail(map[string]any{"type": "admin.statuses.create", "name": "IN A MEETING", "presence": "away"}, "conflict")
	admin.Fail(map[string]any{"type": "admin.statuses.create", "name": "   ", "presence": "away"}, "bad_request")
	admin.Fail(map[string]any{"type": "admin.statuses.create", "name": strings.Repeat("x", 65), "presence": "away"}, "bad_request")
	admin.Fail(map[string]any{"type": "admin.statuses.create", "name": "Tab\there", "presence": "away"}, "bad_request")
	admin.Fail(map[string]any{"type": "admin.statuses.create", "name": "Nap", "presence": "sleeping"}, "bad_request")
	admin.Fail(map[string]any{"type": "admin.statuses.update", "custom": "nope", "name": "X", "presence": "away"}, "not_found")
	admin.Fail(map[string]any{"type": "admin.statuses.delete", "custom": "nope"}, "not_found")
	bob.Fail(map[string]any{"type": "set_custom_status", "custom": "nope"}, "not_found")

	for _, name := range []string{"Lunch", "Commuting", "Meeting room B"} {
		admin.OK(map[string]any{"type": "admin.statuses.create", "name": name, "presence": "away"})
	}
	list := admin.OK(map[string]any{"type": "admin.statuses.list", "query": "MEET"})
	if list.Total != 2 || len(list.Items) != 2 || list.Items[0].Name != "In a meeting" || list.Items[1].Name != "Meeting room B" {
		t.Errorf("search = %+v total %d", list.Items, list.Total)
	}
	page := admin.OK(map[string]any{"type": "admin.statuses.list", "offset": 1, "limit": 2})
	if page.Total != 4 || len(page.Items) != 2 || page.Items[0].Name != "In a meeting" {
		t.Errorf("page = %+v total %d", page.Items, page.Total)
	}
	admin.Fail(map[string]any{"type": "admin.statuses.list", "limit": 101}, "bad_request")
	admin.Fail(map[string]any{"type": "admin.statuses.list", "limit": 0}, "bad_request")

	// bob picks it; watchers see it; a rename follows him.
	self := bob.OK(map[string]any{"type": "set_custom_status", "custom": meeting.ID}).Self
	if self.Status != "busy" || self.Text != "In a meeting" || self.Custom == nil || *self.Custom != meeting.ID {
		t.Errorf("self = %+v", self)
	}
	if e := watcher.PresenceOf("bob", "busy"); e.Text != "In a meeting" || e.Custom == nil || *e.Custom != meeting.ID {
		t.Errorf("entry = %+v", e)
	}
	up := admin.OK(map[string]any{"type": "admin.statuses.update", "custom": meeting.ID, "name": "On a call", "presence": "away"})
	if up.Status.Name != "On a call" {
		t.Errorf("updated = %+v", up.Status)
	}
	if e := watcher.PresenceOf("bob", "away"); e.Text != "On a call" {
		t.Errorf("after rename = %+v", e)
	}
	admin.Fail(map[string]any{"type": "admin.statuses.update", "custom": meeting.ID, "name": "lunch", "presence": "away"}, "conflict")
	admin.OK(map[string]any{"type": "admin.statuses.update", "custom": meeting.ID, "name": "ON A CALL", "presence": "away"})

	admin.OK(map[string]any{"type": "admin.statuses.delete", "custom": meeting.ID})
	e := watcher.NextWhere("presence", func(f wire.Frame) bool {
		return len(f.Users) == 1 && f.Users[0].ID == "bob" && f.Users[0].Text == ""
	}).Users[0]
	if e.Status != "away" || e.Custom != nil {
		t.Errorf("after delete, bob = %+v; want away with no text", e)
	}
	if ev := bob.NextWhere("statuses", func(f wire.Frame) bool { return f.Op == "deleted" }); ev.Status.ID != meeting.ID {
		t.Errorf("delete event = %+v", ev)
	}
}

func TestConcurrentCreateOneWins(t *testing.T) {
	n := startNode(t, options{})
	a, b := n.connect(t, "a", true), n.connect(t, "b", true)
	var wg sync.WaitGroup
	var fa, fb wire.Frame
	wg.Go(func() {
		fa = a.Do(map[string]any{"type": "admin.statuses.create", "name": "Focus", "presence": "busy"})
	})
	wg.Go(func() {
		fb = b.Do(map[string]any{"type": "admin.statuses.create", "name": "FOCUS", "presence": "busy"})
	})
	wg.Wait()
	codes := []string{fa.Type + fa.Code, fb.Type + fb.Code}
	if !(codes[0] == "result" && codes[1] == "errorconflict") && !(codes[1] == "result" && codes[0] == "errorconflict") {
		t.Errorf("replies = %v, want one result and one conflict", codes)
	}
}

func TestCustomStatusesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, options{dir: dir})
	admin := n.connect(t, "root", true)
	cs := admin.OK(map[string]any{"type": "admin.statuses.create", "name": "Vacation", "presence": "offline"}).Status
	bob := n.connect(t, "bob", false)
	bob.OK(map[string]any{"type": "set_custom_status", "custom": cs.ID})
	admin.OK(map[string]any{"type": "admin.settings", "idle_limit_s": 120})
	n.stop()

	m := startNode(t, options{dir: dir})
	bob = m.connect(t, "bob", false)
	if s := bob.Welcome.Self; s.Manual != "offline" || s.Text != "Vacation" || s.Custom == nil || *s.Custom != cs.ID {
		t.Errorf("bob after restart = %+v", s)
	}
	if len(bob.Welcome.Statuses) != 1 || bob.Welcome.Statuses[0].Name != "Vacation" {
		t.Errorf("catalog after restart = %+v", bob.Welcome.Statuses)
	}
	if bob.Welcome.IdleLimitMS != 120000 {
		t.Errorf("workspace idle limit after restart = %d", bob.Welcome.IdleLimitMS)
	}
}

func TestConnectionLimitTrips(t *testing.T) {
	n := startNode(t, options{hub: hub.Config{Limit: 5}})
	admin := n.connect(t, "root", true)
	admin.OK(map[string]any{"type": "subscribe", "all": true})
	users := []*client{admin}
	for _, u := range []string{"u1", "u2", "u3"} {
		users = append(users, n.connect(t, u, false))
	}
	if w := admin.Next("notice"); w.Code != "limit_80" || w.Connections != 4 || *w.Limit != 5 {
		t.Errorf("80%% notice = %+v", w)
	}
	users = append(users, n.connect(t, "u4", false)) // 5: at the limit, still on
	if w := admin.Next("notice"); w.Code != "limit_95" {
		t.Errorf("95%% notice = %+v", w)
	}
	if got := users[4].Welcome.Service.State; got != "enabled" {
		t.Fatalf("at exactly the limit, service = %s", got)
	}

	over := n.connect(t, "u5", false) // 6 = limit+1: trips
	if s := over.Welcome.Service; s.State != "disabled" || *s.Reason != "connection_limit" || s.Connections != 6 {
		t.Errorf("tripping welcome service = %+v", s)
	}
	if over.Welcome.Self.Status != "disabled" {
		t.Errorf("tripping welcome self = %+v", over.Welcome.Self)
	}
	for _, c := range users {
		ev := c.Next("service")
		if ev.State != "disabled" || ev.Reason == nil || *ev.Reason != "connection_limit" || ev.Connections != 6 || *ev.Limit != 5 {
			t.Errorf("service event = %+v", ev)
		}
	}
	notice := admin.Next("notice")
	if notice.Code != "connection_limit" || notice.Level != "critical" || !strings.Contains(notice.Message, "5") {
		t.Errorf("notice = %+v", notice)
	}
	for _, f := range users[1].Backlog {
		if f.Type == "notice" {
			t.Errorf("a non-admin got a notice: %+v", f)
		}
	}

	// Everything reads disabled, and no change goes out.
	q := users[1].OK(map[string]any{"type": "query", "users": []string{"u2", "nobody"}})
	for _, e := range q.Users {
		if e.Status != "disabled" || e.Text != "" {
			t.Errorf("query while disabled = %+v", e)
		}
	}
	if s := users[2].OK(map[string]any{"type": "set_status", "status": "busy"}).Self; s.Status != "disabled" || s.Manual != "busy" {
		t.Errorf("self while disabled = %+v", s)
	}
	if snap := users[3].OK(map[string]any{"type": "subscribe", "users": []string{"u2"}}); snap.Users[0].Status != "disabled" {
		t.Errorf("snapshot while disabled = %+v", snap.Users)
	}
	stats := admin.OK(map[string]any{"type": "admin.stats"})
	if stats.Connections != 6 || stats.Peak != 6 || stats.UsersOnline != 6 || *stats.Limit != 5 || stats.Edition != "free" ||
		stats.Service.State != "disabled" || stats.ServiceSince == nil {
		t.Errorf("stats = %+v service %+v", stats, stats.Service)
	}

	// Re-enabling needs the count below the limit.
	admin.Fail(map[string]any{"type": "admin.service", "enabled": true}, "over_limit")
	over.WS.CloseNow()
	users[4].WS.CloseNow() // 4 left: below 5
	if r := admin.Next("notice"); r.Code != "ready_to_enable" || r.Connections != 4 {
		t.Errorf("ready notice = %+v", r)
	}
	res := admin.OK(map[string]any{"type": "admin.service", "enabled": true})
	if res.Service == nil || res.Service.State != "enabled" || res.Service.Reason != nil {
		t.Errorf("service result = %+v", res.Service)
	}
	for _, c := range users[:4] {
		if ev := c.Next("service"); ev.State != "enabled" {
			t.Errorf("service event = %+v", ev)
		}
	}
	// A fresh snapshot: u2's busy, set while off, now shows.
	admin.PresenceOf("u2", "busy")
	users[3].PresenceOf("u2", "busy")
	for _, f := range admin.Backlog {
		for _, e := range f.Users {
			if f.Type == "presence" && e.Status == "disabled" {
				t.Errorf("a presence change went out while disabled: %+v", f)
			}
		}
	}
}

func TestAdminDisablesAndServiceSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, options{dir: dir, hub: hub.Config{Limit: 3}})
	admin := n.connect(t, "root", true)
	bob := n.connect(t, "bob", false)
	admin.OK(map[string]any{"type": "admin.service", "enabled": false})
	if ev := bob.Next("service"); ev.State != "disabled" || *ev.Reason != "admin" {
		t.Errorf("service event = %+v", ev)
	}
	admin.OK(map[string]any{"type": "admin.service", "enabled": true})
	n.connect(t, "carol", false)
	n.connect(t, "dave", false) // 4 > 3: trips
	bob.NextWhere("service", func(f wire.Frame) bool { return f.State == "disabled" })
	n.stop()

	m := startNode(t, options{dir: dir, hub: hub.Config{Limit: 3}})
	c := m.connect(t, "root", true)
	if s := c.Welcome.Service; s.State != "disabled" || *s.Reason != "connection_limit" {
		t.Errorf("after restart service = %+v; a tripped service must stay off", s)
	}
	if st := c.OK(map[string]any{"type": "admin.stats"}); st.Peak != 4 {
		t.Errorf("peak after restart = %d, want 4", st.Peak)
	}
	c.OK(map[string]any{"type": "admin.service", "enabled": true}) // 1 < 3
	if st := c.OK(map[string]any{"type": "admin.stats", "reset_peak": true}); st.Peak != 1 {
		t.Errorf("peak after reset = %d, want 1", st.Peak)
	}
}

func TestEnterpriseHasNoLimit(t *testing.T) {
	n := startNode(t, options{hub: hub.Config{Edition: hub.Enterprise}})
	admin := n.connect(t, "root", true)
	if admin.Welcome.Service.Limit != nil || admin.Welcome.Service.Edition != "enterprise" {
		t.Errorf("service = %+v", admin.Welcome.Service)
	}
	for i := range 205 {
		n.connect(t, "u"+string(rune('a'+i%26))+strings.Repeat("x", i/26), false)
	}
	st := admin.OK(map[string]any{"type": "admin.stats"})
	if st.Connections != 206 || st.Service.State != "enabled" || st.Limit != nil {
		t.Errorf("stats = %+v", st)
	}
	for _, f := range admin.Backlog {
		if f.Type == "service" || f.Type == "notice" {
			t.Errorf("enterprise got %+v", f)
		}
	}
}
