package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/presenced/presenced/auth"
	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web"
	"github.com/presenced/presenced/web/api"
	"github.com/presenced/presenced/web/wire"
)

func TestCredentials(t *testing.T) {
	n := startNode(t, options{})
	expired, err := web.Mint(secret, "alice", "", false, -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := web.Mint([]byte("another-secret"), "alice", "", true, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, header string
	}{
		{"no token", ""},
		{"not bearer", "Basic " + apiKey},
		{"bearer of nothing", "Bearer "},
		{"an expired token", "Bearer " + expired},
		{"a token of another secret", "Bearer " + forged},
		{"almost the API key", "Bearer " + apiKey[:len(apiKey)-1]},
		{"the API key and more", "Bearer " + apiKey + "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", n.url+"/api/v1/users/alice", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
	a := n.do(t, "GET", "/api/v1/stats", expired, nil)
	if p := a.problem(t, http.StatusUnauthorized, "unauthorized"); !strings.Contains(p["detail"].(string), "expired") {
		t.Errorf("detail %q, want it to say the token expired", p["detail"])
	}
	// The document needs no token.
	n.ok(t, "GET", "/api/v1/openapi.json", "", nil, nil)
}

func TestShortAPIKeyRefused(t *testing.T) {
	h := hub.New(hub.Config{})
	v, err := auth.New(auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.New(api.Config{Hub: h, Verifier: v, APIKey: strings.Repeat("k", api.MinKeyLen-1)})
	if err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("New with a 31-character key: %v, want refused", err)
	}
	if _, err := api.New(api.Config{Hub: h, Verifier: v, APIKey: strings.Repeat("k", api.MinKeyLen)}); err != nil {
		t.Fatalf("New with a 32-character key: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	n := startNode(t, options{})
	alice, root := token(t, "alice", false), token(t, "root", true)
	for _, tc := range []struct {
		method, path, tok string
		body              any
	}{
		{"PUT", "/api/v1/users/bob/status", alice, map[string]any{"status": "busy"}},
		// An admin's token acts as that admin: another user's status is
		// the API key's to set.
		{"PUT", "/api/v1/users/bob/status", root, map[string]any{"status": "busy"}},
		{"PUT", "/api/v1/users/bob/custom-status", alice, map[string]any{"custom": "x"}},
		{"POST", "/api/v1/users/bob/bye", alice, nil},
		{"GET", "/api/v1/users/bob/history", alice, nil},
		{"GET", "/api/v1/stats", alice, nil},
		{"PUT", "/api/v1/service", alice, map[string]any{"enabled": false}},
		{"POST", "/api/v1/statuses", alice, map[string]any{"name": "x", "presence": "busy"}},
		{"GET", "/api/v1/statuses/x", alice, nil},
		{"PATCH", "/api/v1/statuses/x", alice, map[string]any{"name": "y"}},
		{"DELETE", "/api/v1/statuses/x", alice, nil},
		{"GET", "/api/v1/settings", alice, nil},
		{"PUT", "/api/v1/settings", alice, map[string]any{"idle_limit_s": 120}},
		// Permission before the body: a refused caller learns nothing of it.
		{"PUT", "/api/v1/users/bob/status", alice, "{not json"},
		{"POST", "/api/v1/statuses", alice, map[string]any{"nonsense": true}},
		{"PUT", "/api/v1/settings", alice, map[string]any{"idle_limit_s": 1}},
		{"PUT", "/api/v1/users/" + strings.Repeat("b", 200) + "/status", alice, map[string]any{"status": "nope"}},
	} {
		t.Run(tc.method+" "+tc.path[:min(len(tc.path), 40)], func(t *testing.T) {
			n.do(t, tc.method, tc.path, tc.tok, tc.body).problem(t, http.StatusForbidden, "forbidden")
		})
	}
	// What they may do: their own status, lists, reads.
	n.ok(t, "PUT", "/api/v1/users/alice/status", alice, map[string]any{"status": "busy"}, nil)
	n.ok(t, "GET", "/api/v1/statuses", alice, nil, nil)
	n.ok(t, "GET", "/api/v1/users/bob", alice, nil, nil)
	n.ok(t, "GET", "/api/v1/stats", root, nil, nil)
}

func TestBadRequests(t *testing.T) {
	n := startNode(t, options{})
	ids := make([]string, wire.MaxUsers+1)
	for i := range ids {
		ids[i] = "u" + strconv.Itoa(i)
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"no users", "GET", "/api/v1/presence", nil},
		{"empty users", "GET", "/api/v1/presence?users=", nil},
		{"an empty id", "GET", "/api/v1/presence?users=a,,b", nil},
		{"too many users", "POST", "/api/v1/presence/query", map[string]any{"users": ids}},
		{"a user id too long", "GET", "/api/v1/users/" + strings.Repeat("x", wire.MaxUserIDLen+1), nil},
		{"a user id too long to set", "PUT", "/api/v1/users/" + strings.Repeat("x", wire.MaxUserIDLen+1) + "/status", map[string]any{"status": "busy"}},
		{"users of the wrong type", "POST", "/api/v1/presence/query", map[string]any{"users": "alice"}},
		{"service without enabled", "PUT", "/api/v1/service", map[string]any{}},
		{"idle limit out of range", "PUT", "/api/v1/settings", map[string]any{"idle_limit_s": 59}},
		{"a status name too long", "POST", "/api/v1/statuses", map[string]any{"name": strings.Repeat("n", 65), "presence": "busy"}},
		{"an empty status name", "POST", "/api/v1/statuses", map[string]any{"name": " ", "presence": "busy"}},
		{"an unknown presence", "POST", "/api/v1/statuses", map[string]any{"name": "x", "presence": "asleep"}},
		{"a list limit too big", "GET", "/api/v1/statuses?limit=101", nil},
		{"a list limit of 0", "GET", "/api/v1/statuses?limit=0", nil},
		{"a negative offset", "GET", "/api/v1/statuses?offset=-1", nil},
		{"a custom id too long", "GET", "/api/v1/statuses/" + strings.Repeat("c", wire.MaxIDLen+1), nil},
		{"no body", "PUT", "/api/v1/service", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n.do(t, tc.method, tc.path, apiKey, tc.body).problem(t, http.StatusBadRequest, "bad_request")
		})
	}

	big := `{"users":["` + strings.Repeat("a", wire.MaxFrame) + `"]}`
	n.do(t, "POST", "/api/v1/presence/query", apiKey, big).problem(t, http.StatusRequestEntityTooLarge, "bad_request")
}

func TestNotFoundConflictOverLimit(t *testing.T) {
	n := startNode(t, options{hub: hub.Config{Limit: 1}})
	n.do(t, "PUT", "/api/v1/users/alice/custom-status", apiKey, map[string]any{"custom": "nope"}).problem(t, http.StatusNotFound, "not_found")
	for _, m := range []string{"GET", "DELETE"} {
		n.do(t, m, "/api/v1/statuses/nope", apiKey, nil).problem(t, http.StatusNotFound, "not_found")
	}
	n.do(t, "PATCH", "/api/v1/statuses/nope", apiKey, map[string]any{"name": "x"}).problem(t, http.StatusNotFound, "not_found")
	n.do(t, "GET", "/api/v1/no/such/thing", apiKey, nil).problem(t, http.StatusNotFound, "not_found")

	n.ok(t, "POST", "/api/v1/statuses", apiKey, map[string]any{"name": "Lunch", "presence": "away"}, nil)
	n.do(t, "POST", "/api/v1/statuses", apiKey, map[string]any{"name": "lunch", "presence": "busy"}).problem(t, http.StatusConflict, "conflict")

	// Two connections trip a limit of 1; on again is refused while over.
	admin := n.connect(t, "root", true)
	n.connect(t, "alice", false)
	admin.Next("service")
	n.do(t, "PUT", "/api/v1/service", apiKey, map[string]any{"enabled": true}).problem(t, http.StatusConflict, "over_limit")
}

func TestRateLimited(t *testing.T) {
	n := startNode(t, options{api: api.Config{RateLimit: 0.5, RateBurst: 2, KeyRateLimit: 0.5, KeyRateBurst: 1}})
	alice := token(t, "alice", false)
	n.ok(t, "GET", "/api/v1/users/bob", alice, nil, nil)
	n.ok(t, "GET", "/api/v1/users/bob", alice, nil, nil)
	a := n.do(t, "GET", "/api/v1/users/bob", alice, nil)
	a.problem(t, http.StatusTooManyRequests, "rate_limited")
	if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 || s > 2 {
		t.Errorf("Retry-After %q, want 1 or 2 seconds", a.header.Get("Retry-After"))
	}
	// Per token: another user, and the key, have buckets of their own.
	n.ok(t, "GET", "/api/v1/users/bob", token(t, "bob", false), nil, nil)
	n.ok(t, "GET", "/api/v1/users/bob", apiKey, nil, nil)
	n.do(t, "GET", "/api/v1/users/bob", apiKey, nil).problem(t, http.StatusTooManyRequests, "rate_limited")
	// A new token of the same user shares its bucket.
	n.do(t, "GET", "/api/v1/users/bob", token(t, "alice", false), nil).problem(t, http.StatusTooManyRequests, "rate_limited")
}
