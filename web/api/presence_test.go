package api_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/presenced/presenced/web/api"
	"github.com/presenced/presenced/web/wire"
)

func TestQueryAnswersEveryUserAskedInOrder(t *testing.T) {
	n := startNode(t, options{})
	n.connect(t, "alice", false)
	carol := token(t, "carol", false)

	for _, tok := range []string{carol, apiKey} {
		var got api.Users
		n.ok(t, "GET", "/api/v1/presence?users=alice,nobody", tok, nil, &got)
		if len(got.Users) != 2 || got.Users[0].ID != "alice" || got.Users[0].Status != "online" {
			t.Fatalf("GET presence = %+v, want alice online first", got)
		}
		if e := got.Users[1]; e.ID != "nobody" || e.Status != "offline" || e.Since != nil || e.LastSeen != nil {
			t.Errorf("a user never seen = %+v, want offline with since and last_seen null", e)
		}
		var posted api.Users
		n.ok(t, "POST", "/api/v1/presence/query", tok, map[string]any{"users": []string{"alice", "nobody"}}, &posted)
		// last_seen of a connected user is now: it moves.
		posted.Users[0].LastSeen, got.Users[0].LastSeen = nil, nil
		if !reflect.DeepEqual(posted, got) {
			t.Errorf("POST query = %+v, GET = %+v", posted, got)
		}
	}

	var one wire.Entry
	n.ok(t, "GET", "/api/v1/users/nobody", carol, nil, &one)
	if one.ID != "nobody" || one.Status != "offline" {
		t.Errorf("GET a never-seen user = %+v, want 200 offline", one)
	}
	// The shape is the socket's: every field present, null when empty.
	a := n.ok(t, "GET", "/api/v1/users/nobody", carol, nil, nil)
	var raw map[string]any
	a.json(t, &raw)
	for _, k := range []string{"id", "status", "text", "custom", "since", "last_seen"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("entry %s has no %q", a.body, k)
		}
	}
}

func TestHTTPChangeReachesSocketSubscribers(t *testing.T) {
	n := startNode(t, options{})
	watcher := n.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"alice", "carol"}})
	alice := n.connect(t, "alice", false)
	watcher.Sees("alice", "online")

	// Alice's own token.
	var self wire.Self
	n.ok(t, "PUT", "/api/v1/users/alice/status", token(t, "alice", false), map[string]any{"status": "busy", "text": "  In a meeting  "}, &self)
	if self.Status != "busy" || self.Manual != "busy" || self.Text != "In a meeting" {
		t.Errorf("PUT status answered %+v, want busy, the text trimmed", self)
	}
	if e := watcher.Sees("alice", "busy"); e.Text != "In a meeting" {
		t.Errorf("watcher sees alice %+v, want the text", e)
	}
	alice.OK(map[string]any{"type": "ping"}) // still connected, nothing refused

	// The API key, for a user with no connection: kept, and she comes
	// online with it.
	n.ok(t, "PUT", "/api/v1/users/carol/status", apiKey, map[string]any{"status": "away"}, &self)
	if self.Status != "offline" || self.Manual != "away" {
		t.Errorf("PUT status of a user with no connection = %+v, want manual away, offline", self)
	}
	carol := n.connect(t, "carol", false)
	if carol.Welcome.Self == nil || carol.Welcome.Self.Manual != "away" {
		t.Errorf("carol's welcome self = %+v, want manual away", carol.Welcome.Self)
	}
	watcher.Sees("carol", "away")

	// A custom status, by the API key.
	var cs wire.CustomStatus
	n.ok(t, "POST", "/api/v1/statuses", apiKey, map[string]any{"name": "On holiday", "presence": "offline"}, &cs)
	n.ok(t, "PUT", "/api/v1/users/alice/custom-status", apiKey, map[string]any{"custom": cs.ID}, &self)
	if self.Custom == nil || *self.Custom != cs.ID || self.Text != "On holiday" {
		t.Errorf("PUT custom-status = %+v", self)
	}
	if e := watcher.Sees("alice", "offline"); e.Custom == nil || *e.Custom != cs.ID {
		t.Errorf("watcher sees alice %+v, want the custom status", e)
	}
}

// TestBodiesAreJSONWhateverTheirLabel: curl -d sends a form's label.
func TestBodiesAreJSONWhateverTheirLabel(t *testing.T) {
	n := startNode(t, options{})
	for _, ct := range []string{"", "application/x-www-form-urlencoded", "application/json; charset=utf-8"} {
		req, _ := http.NewRequest("PUT", n.url+"/api/v1/users/alice/status", strings.NewReader(`{"status":"busy"}`))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Content-Type %q: status %d, want 200", ct, resp.StatusCode)
		}
	}
}

func TestSocketChangeSeenByNextHTTPRead(t *testing.T) {
	n := startNode(t, options{})
	alice := n.connect(t, "alice", false)
	alice.OK(map[string]any{"type": "set_status", "status": "busy", "text": "deep work"})
	var e wire.Entry
	n.ok(t, "GET", "/api/v1/users/alice", apiKey, nil, &e)
	if e.Status != "busy" || e.Text != "deep work" || e.Since == nil || e.LastSeen == nil {
		t.Errorf("after set_status, GET = %+v, want busy with the text and times", e)
	}
	alice.OK(map[string]any{"type": "idle"})
	alice.OK(map[string]any{"type": "set_status", "status": "online"})
	n.ok(t, "GET", "/api/v1/users/alice", apiKey, nil, &e)
	if e.Status != "away" {
		t.Errorf("after idle, GET = %+v, want away", e)
	}
}

// TestSameAnswersAsTheSocket holds the API's shapes to the socket's: the
// same users, asked both ways, read the same, byte for byte once decoded.
func TestSameAnswersAsTheSocket(t *testing.T) {
	n := startNode(t, options{})
	admin := n.connect(t, "root", true)
	cs := admin.OK(map[string]any{"type": "admin.statuses.create", "name": "Lunch", "presence": "away"})
	alice := n.connect(t, "alice", false)
	alice.OK(map[string]any{"type": "set_custom_status", "custom": cs.Status.ID})
	bob := n.connect(t, "bob", false)
	bob.OK(map[string]any{"type": "set_status", "status": "offline"})
	users := []string{"alice", "bob", "root", "nobody"}

	check := func(when string) {
		t.Helper()
		sock := admin.OK(map[string]any{"type": "query", "users": users})
		var viaHTTP api.Users
		n.ok(t, "GET", "/api/v1/presence?users="+strings.Join(users, ","), apiKey, nil, &viaHTTP)
		for i := range users {
			// last_seen of a connected user is now: it moves.
			if e := sock.Users[i]; e.LastSeen != nil && e.Since != nil && e.Status != "offline" {
				sock.Users[i].LastSeen, viaHTTP.Users[i].LastSeen = nil, nil
			}
		}
		if !reflect.DeepEqual(sock.Users, viaHTTP.Users) {
			t.Errorf("%s: socket query %+v, HTTP %+v", when, sock.Users, viaHTTP.Users)
		}

		ss := admin.OK(map[string]any{"type": "admin.stats"})
		var hs wire.Frame
		n.ok(t, "GET", "/api/v1/stats", apiKey, nil, &hs)
		if !reflect.DeepEqual([]any{ss.Connections, ss.Peak, ss.UsersOnline, ss.Limit, ss.Edition, ss.ServiceSince, ss.Service},
			[]any{hs.Connections, hs.Peak, hs.UsersOnline, hs.Limit, hs.Edition, hs.ServiceSince, hs.Service}) {
			t.Errorf("%s: socket admin.stats %+v, HTTP %+v", when, ss, hs)
		}
	}
	check("enabled")
	admin.OK(map[string]any{"type": "admin.service", "enabled": false})
	check("disabled")
}

func TestSetStatusValidatesAsTheSocketDoes(t *testing.T) {
	n := startNode(t, options{})
	long := strings.Repeat("é", wire.MaxTextLen+1)
	for _, tc := range []struct {
		name string
		body any
	}{
		{"no status", map[string]any{"text": "x"}},
		{"unknown status", map[string]any{"status": "asleep"}},
		{"text too long", map[string]any{"status": "busy", "text": long}},
		{"text of the wrong type", map[string]any{"status": "busy", "text": 5}},
		{"unknown field", map[string]any{"status": "busy", "mood": "great"}},
		{"not JSON", "{status: busy"},
		{"until not RFC 3339", map[string]any{"status": "busy", "until": "tomorrow"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := n.do(t, "PUT", "/api/v1/users/alice/status", apiKey, tc.body)
			p := a.problem(t, http.StatusBadRequest, "bad_request")
			t.Logf("%v", p["detail"])
		})
	}
	// The socket's own message for the socket's own rule.
	a := n.do(t, "PUT", "/api/v1/users/alice/status", apiKey, map[string]any{"status": "busy", "text": long})
	if p := a.problem(t, 400, "bad_request"); !strings.Contains(p["detail"].(string), "at most 120") {
		t.Errorf("detail %q, want the socket's", p["detail"])
	}
}
