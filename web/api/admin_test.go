package api_test

import (
	"net/http"
	"testing"

	"github.com/presenced/presenced/web/api"
	"github.com/presenced/presenced/web/wire"
)

func TestCustomStatusesOverHTTP(t *testing.T) {
	n := startNode(t, options{})
	watcher := n.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"alice"}})
	alice := n.connect(t, "alice", false)
	watcher.Sees("alice", "online")
	root := token(t, "root", true)

	// Create: 201, and every socket hears of it.
	var cs wire.CustomStatus
	n.ok(t, "POST", "/api/v1/statuses", root, map[string]any{"name": "In a meeting", "presence": "busy"}, &cs)
	if cs.ID == "" || cs.Name != "In a meeting" || cs.Presence != "busy" {
		t.Fatalf("created %+v", cs)
	}
	if ev := alice.Next("statuses"); ev.Op != "created" || ev.Status == nil || ev.Status.ID != cs.ID {
		t.Errorf("statuses event %+v", ev)
	}
	var got wire.CustomStatus
	n.ok(t, "GET", "/api/v1/statuses/"+cs.ID, apiKey, nil, &got)
	if got != cs {
		t.Errorf("GET = %+v, want %+v", got, cs)
	}

	// List: any token, by name, paged.
	n.ok(t, "POST", "/api/v1/statuses", apiKey, map[string]any{"name": "Commuting", "presence": "away"}, nil)
	var page api.StatusPage
	n.ok(t, "GET", "/api/v1/statuses?query=MEET", token(t, "alice", false), nil, &page)
	if page.Total != 1 || len(page.Items) != 1 || page.Items[0] != cs {
		t.Errorf("list query=MEET = %+v", page)
	}
	n.ok(t, "GET", "/api/v1/statuses?limit=1&offset=1", apiKey, nil, &page)
	if page.Total != 2 || len(page.Items) != 1 || page.Items[0].Name != "In a meeting" {
		t.Errorf("list limit=1 offset=1 = %+v, want the second by name", page)
	}

	// Alice holds it; a patch of the presence alone keeps the name, and
	// reaches her watchers.
	alice.OK(map[string]any{"type": "set_custom_status", "custom": cs.ID})
	watcher.Sees("alice", "busy")
	n.ok(t, "PATCH", "/api/v1/statuses/"+cs.ID, root, map[string]any{"presence": "away"}, &got)
	if got.Name != "In a meeting" || got.Presence != "away" {
		t.Errorf("PATCH presence = %+v, want the name kept", got)
	}
	if e := watcher.Sees("alice", "away"); e.Text != "In a meeting" {
		t.Errorf("watcher sees %+v", e)
	}
	n.ok(t, "PATCH", "/api/v1/statuses/"+cs.ID, root, map[string]any{"name": "Meeting"}, &got)
	if got.Name != "Meeting" || got.Presence != "away" {
		t.Errorf("PATCH name = %+v, want the presence kept", got)
	}

	// Delete: she keeps her presence, loses the text.
	n.ok(t, "DELETE", "/api/v1/statuses/"+cs.ID, root, nil, &got)
	if got.ID != cs.ID {
		t.Errorf("DELETE answered %+v", got)
	}
	watcher.NextWhere("presence", func(f wire.Frame) bool {
		return len(f.Users) > 0 && f.Users[0].ID == "alice" && f.Users[0].Text == "" && f.Users[0].Custom == nil
	})
	n.do(t, "GET", "/api/v1/statuses/"+cs.ID, root, nil).problem(t, http.StatusNotFound, "not_found")
}

func TestServiceAndSettingsOverHTTP(t *testing.T) {
	n := startNode(t, options{})
	admin := n.connect(t, "root", true)
	admin.OK(map[string]any{"type": "subscribe", "users": []string{"alice"}})
	n.connect(t, "alice", false)
	admin.Sees("alice", "online")

	var sv wire.Service
	n.ok(t, "PUT", "/api/v1/service", apiKey, map[string]any{"enabled": false}, &sv)
	if sv.State != "disabled" || sv.Reason == nil || *sv.Reason != "admin" {
		t.Errorf("PUT service off = %+v", sv)
	}
	if ev := admin.Next("service"); ev.State != "disabled" {
		t.Errorf("service event %+v", ev)
	}
	var e wire.Entry
	n.ok(t, "GET", "/api/v1/users/alice", apiKey, nil, &e)
	if e.Status != "disabled" {
		t.Errorf("while off, alice reads %q, want disabled", e.Status)
	}
	n.ok(t, "PUT", "/api/v1/service", token(t, "root", true), map[string]any{"enabled": true}, &sv)
	if sv.State != "enabled" || sv.Reason != nil {
		t.Errorf("PUT service on = %+v", sv)
	}
	admin.PresenceOf("alice", "online") // the fresh snapshot

	var stats wire.Frame
	n.ok(t, "GET", "/api/v1/stats", apiKey, nil, &stats)
	if stats.Connections != 2 || stats.UsersOnline != 2 || stats.Edition != "free" || stats.Limit == nil || *stats.Limit != 200 ||
		stats.Service == nil || stats.Service.State != "enabled" {
		t.Errorf("stats %+v", stats)
	}

	var set wire.Settings
	n.ok(t, "GET", "/api/v1/settings", apiKey, nil, &set)
	if set.IdleLimitS != 300 {
		t.Errorf("GET settings = %+v, want the default 300 s", set)
	}
	n.ok(t, "PUT", "/api/v1/settings", apiKey, map[string]any{"idle_limit_s": 120}, &set)
	if set.IdleLimitS != 120 {
		t.Errorf("PUT settings answered %+v", set)
	}
	a := n.ok(t, "GET", "/api/v1/settings", apiKey, nil, nil)
	if string(a.body) != `{"idle_limit_s":120}` && string(a.body) != "{\"idle_limit_s\":120}\n" {
		t.Errorf("GET settings = %s, want {\"idle_limit_s\":120}", a.body)
	}
	// A new connection gets it as its idle limit.
	if c := n.connect(t, "bob", false); c.Welcome.IdleLimitMS != 120_000 {
		t.Errorf("bob's idle_limit_ms %d, want 120000", c.Welcome.IdleLimitMS)
	}
}
