package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/presenced/presenced/internal/wstest"
	"github.com/presenced/presenced/web/api"
	"github.com/presenced/presenced/web/wire"
)

func TestByeSignsOutEverywhereAtOnce(t *testing.T) {
	n := startNode(t, options{})
	watcher := n.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"alice"}})
	tab1, tab2 := n.connect(t, "alice", false), n.connect(t, "alice", false)
	watcher.Sees("alice", "online")

	began := time.Now()
	var e wire.Entry
	n.ok(t, "POST", "/api/v1/users/alice/bye", token(t, "alice", false), nil, &e)
	if e.Status != "offline" || wstest.ReasonOf(e) != "disconnect" {
		t.Errorf("bye answered %+v, want offline (disconnect)", e)
	}
	for _, tab := range []*wstest.Client{tab1, tab2} {
		if code := tab.Closed(); code != 4003 {
			t.Errorf("a tab closed with %d, want 4003 signed out", code)
		}
	}
	watcher.Sees("alice", "offline")
	if d := time.Since(began); d > time.Second {
		t.Errorf("offline %v after bye, want within 1 s (no grace)", d)
	}
	// An admin, and the key, may sign anyone out; a user with no socket is
	// no error.
	n.ok(t, "POST", "/api/v1/users/bob/bye", token(t, "root", true), nil, nil)
	n.ok(t, "POST", "/api/v1/users/bob/bye", apiKey, nil, nil)
}

func TestHistoryOverHTTP(t *testing.T) {
	n := startNode(t, options{})
	alice := n.connect(t, "alice", false)
	alice.OK(map[string]any{"type": "set_status", "status": "busy"})
	tok := token(t, "alice", false)

	var h api.History
	n.ok(t, "GET", "/api/v1/users/alice/history", tok, nil, &h)
	if len(h.Items) != 2 || h.Items[0].Status != "busy" || h.Items[0].Previous != "online" || h.Items[0].Reason != "manual" ||
		h.Items[1].Status != "online" || h.Items[1].Previous != "offline" {
		t.Fatalf("history %+v, want busy (manual) then online, newest first", h.Items)
	}
	n.ok(t, "GET", "/api/v1/users/alice/history?limit=1", apiKey, nil, &h)
	if len(h.Items) != 1 {
		t.Errorf("limit=1: %d items", len(h.Items))
	}
	n.ok(t, "GET", "/api/v1/users/alice/history", token(t, "root", true), nil, &h)
	// A user never seen has no history, not an error.
	n.ok(t, "GET", "/api/v1/users/nobody/history", apiKey, nil, &h)
	if len(h.Items) != 0 {
		t.Errorf("nobody's history %+v", h.Items)
	}
	for _, q := range []string{"0", "101", "x"} {
		n.do(t, "GET", "/api/v1/users/alice/history?limit="+q, tok, nil).problem(t, http.StatusBadRequest, "bad_request")
	}
}

func TestStatusExpiryOverHTTP(t *testing.T) {
	n := startNode(t, options{})
	watcher := n.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"alice"}})
	n.connect(t, "alice", false)
	watcher.Sees("alice", "online")

	var self wire.Self
	before := time.Now()
	n.ok(t, "PUT", "/api/v1/users/alice/status", apiKey, map[string]any{"status": "busy", "duration_s": 3600}, &self)
	if self.Until == nil || self.Until.Sub(before.Add(time.Hour)) > 2*time.Second || before.Add(time.Hour).Sub(self.Until.Time) > 2*time.Second {
		t.Errorf("duration_s 3600: until %v, want an hour from now", self.Until)
	}
	if e := watcher.Sees("alice", "busy"); e.Until == nil {
		t.Errorf("the watcher's entry has no until: %+v", e)
	}
	at := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	n.ok(t, "PUT", "/api/v1/users/alice/status", apiKey, map[string]any{"status": "away", "until": at.Format(time.RFC3339)}, &self)
	if self.Until == nil || !self.Until.Equal(at) {
		t.Errorf("until %v: answered %v", at, self.Until)
	}
	for _, body := range []map[string]any{
		{"status": "busy", "duration_s": 59},
		{"status": "busy", "until": time.Now().Add(-time.Minute).Format(time.RFC3339)},
		{"status": "busy", "until": time.Now().Add(400 * 24 * time.Hour).Format(time.RFC3339)},
		{"status": "busy", "until": "tomorrow"},
		{"status": "busy", "until": at.Format(time.RFC3339), "duration_s": 3600},
	} {
		n.do(t, "PUT", "/api/v1/users/alice/status", apiKey, body).problem(t, http.StatusBadRequest, "bad_request")
	}

	// A custom status's default duration applies to a pick without one.
	var cs wire.CustomStatus
	n.ok(t, "POST", "/api/v1/statuses", apiKey, map[string]any{"name": "In a meeting", "presence": "busy", "duration_s": 1800}, &cs)
	if cs.DurationS == nil || *cs.DurationS != 1800 {
		t.Fatalf("created %+v, want duration_s 1800", cs)
	}
	before = time.Now()
	n.ok(t, "PUT", "/api/v1/users/alice/custom-status", apiKey, map[string]any{"custom": cs.ID}, &self)
	if self.Until == nil || self.Until.Sub(before.Add(30*time.Minute)).Abs() > 2*time.Second {
		t.Errorf("a pick of a 30-minute status: until %v", self.Until)
	}
	var patched wire.CustomStatus
	n.ok(t, "PATCH", "/api/v1/statuses/"+cs.ID, apiKey, map[string]any{"name": "Meeting"}, &patched)
	if patched.DurationS == nil || *patched.DurationS != 1800 {
		t.Errorf("a patch of the name lost the duration: %+v", patched)
	}
	n.do(t, "POST", "/api/v1/statuses", apiKey, map[string]any{"name": "x", "presence": "busy", "duration_s": 10}).problem(t, http.StatusBadRequest, "bad_request")
}
