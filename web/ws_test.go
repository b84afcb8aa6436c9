package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web/wire"
)

func TestWelcome(t *testing.T) {
	n := startNode(t, options{})
	c := n.connect(t, "alice", true)
	w := c.Welcome
	if w.ID != "h" || w.Session == "" || w.User.ID != "alice" || !w.User.Admin {
		t.Errorf("welcome = %+v", w)
	}
	if w.Service == nil || w.Service.State != "enabled" || w.Service.Reason != nil || w.Service.Connections != 1 ||
		w.Service.Limit == nil || *w.Service.Limit != 200 || w.Service.Edition != "free" {
		t.Errorf("welcome service = %+v", w.Service)
	}
	if w.Self == nil || w.Self.Status != "online" || w.Self.Manual != "online" || w.Self.Custom != nil {
		t.Errorf("welcome self = %+v", w.Self)
	}
	if w.Statuses == nil || len(w.Statuses) != 0 {
		t.Errorf("welcome statuses = %v, want []", w.Statuses)
	}
	if w.HeartbeatMS != 10000 || w.IdleLimitMS != 300000 {
		t.Errorf("heartbeat_ms %d, idle_limit_ms %d", w.HeartbeatMS, w.IdleLimitMS)
	}
	if f := c.Do(map[string]any{"type": "ping"}); f.Type != "pong" {
		t.Errorf("ping answered %+v", f)
	}
}

func TestSubprotocol(t *testing.T) {
	n := startNode(t, options{})
	c := n.dial(t)
	if got := c.WS.Subprotocol(); got != wire.Subprotocol {
		t.Errorf("subprotocol = %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+n.url[4:]+"/ws", nil) // offers none
	if err != nil {
		t.Fatalf("a client offering no subprotocol was refused: %v", err)
	}
	ws.CloseNow()
}

func TestAuthFailures(t *testing.T) {
	n := startNode(t, options{})
	exp := time.Now().Add(time.Hour).Unix()
	tests := []struct {
		name  string
		hello map[string]any
	}{
		{"bad signature", map[string]any{"type": "hello", "token": sign(t, []byte("other"), jwt.SigningMethodHS256, jwt.MapClaims{"sub": "a", "exp": exp})}},
		{"expired", map[string]any{"type": "hello", "token": sign(t, testSecret, jwt.SigningMethodHS256, jwt.MapClaims{"sub": "a", "exp": time.Now().Add(-time.Minute).Unix()})}},
		{"no exp outside dev", map[string]any{"type": "hello", "token": sign(t, testSecret, jwt.SigningMethodHS256, jwt.MapClaims{"sub": "a"})}},
		{"no sub", map[string]any{"type": "hello", "token": sign(t, testSecret, jwt.SigningMethodHS256, jwt.MapClaims{"exp": exp})}},
		{"sub too long", map[string]any{"type": "hello", "token": sign(t, testSecret, jwt.SigningMethodHS256, jwt.MapClaims{"sub": strings.Repeat("x", 129), "exp": exp})}},
		{"HS384", map[string]any{"type": "hello", "token": sign(t, testSecret, jwt.SigningMethodHS384, jwt.MapClaims{"sub": "a", "exp": exp})}},
		{"garbage token", map[string]any{"type": "hello", "token": "not.a.jwt"}},
		{"no token", map[string]any{"type": "hello"}},
		{"first frame not hello", map[string]any{"type": "subscribe", "all": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := n.dial(t)
			tt.hello["id"] = "h1"
			c.Send(tt.hello)
			f := c.Next("error")
			if f.Code != "unauthorized" || f.ID != "h1" || f.Message == "" {
				t.Errorf("error frame = %+v", f)
			}
			if code := c.Closed(); code != 4001 {
				t.Errorf("close code = %d, want 4001", code)
			}
		})
	}
	t.Run("malformed first frame", func(t *testing.T) {
		c := n.dial(t)
		c.SendRaw([]byte("{not json"))
		if f := c.Next("error"); f.Code != "unauthorized" {
			t.Errorf("error frame = %+v", f)
		}
		if code := c.Closed(); code != 4001 {
			t.Errorf("close code = %d, want 4001", code)
		}
	})
}

func TestAuthTimeout(t *testing.T) {
	n := startNode(t, options{web: Config{AuthTimeout: 50 * time.Millisecond}})
	c := n.dial(t)
	if code := c.Closed(); code != 4002 {
		t.Errorf("close code = %d, want 4002", code)
	}
}

func TestBadInputKeepsConnection(t *testing.T) {
	n := startNode(t, options{})
	c := n.connect(t, "alice", false)
	many := make([]string, wire.MaxUsers+1)
	for i := range many {
		many[i] = "u"
	}
	tests := []struct {
		name string
		raw  string
	}{
		{"malformed JSON", `{"type":"ping",`},
		{"not an object", `[1,2,3]`},
		{"no type", `{"id":"x"}`},
		{"unknown type", `{"type":"teleport","id":"x"}`},
		{"users not an array", `{"type":"subscribe","id":"x","users":"bob"}`},
		{"text not a string", `{"type":"set_status","id":"x","status":"busy","text":5}`},
		{"bad status", `{"type":"set_status","id":"x","status":"sleeping"}`},
		{"text too long", `{"type":"set_status","id":"x","status":"busy","text":"` + strings.Repeat("é", 121) + `"}`},
		{"user id too long", `{"type":"query","id":"x","users":["` + strings.Repeat("u", 129) + `"]}`},
		{"too many users", `{"type":"query","id":"x","users":["` + strings.Join(many, `","`) + `"]}`},
		{"no users", `{"type":"query","id":"x","users":[]}`},
		{"idle limit too short", `{"type":"set_prefs","id":"x","idle_limit_s":5}`},
		{"two objects", `{"type":"ping"}{"type":"ping"}`},
		{"hello again", `{"type":"hello","id":"x","token":"t"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.SendRaw([]byte(tt.raw))
			f := c.Next("error")
			if f.Code != "bad_request" || f.Message == "" {
				t.Errorf("got %+v, want bad_request", f)
			}
			if strings.Contains(tt.raw, `"id":"x"`) && f.ID != "x" {
				t.Errorf("error id = %q, want x", f.ID)
			}
			if f := c.Do(map[string]any{"type": "ping"}); f.Type != "pong" {
				t.Errorf("connection did not live on: %+v", f)
			}
		})
	}
	t.Run("id too long", func(t *testing.T) {
		c.Send(map[string]any{"type": "ping", "id": strings.Repeat("i", 65)})
		if f := c.Next("error"); f.Code != "bad_request" || f.ID != "" {
			t.Errorf("got %+v", f)
		}
	})
	t.Run("text is trimmed and counted in characters", func(t *testing.T) {
		text := strings.Repeat("é", 120)
		f := c.OK(map[string]any{"type": "set_status", "status": "busy", "text": "  " + text + "  "})
		if f.Self == nil || f.Self.Text != text || f.Self.Status != "busy" {
			t.Errorf("self = %+v", f.Self)
		}
	})
}

func TestOversizedFrame(t *testing.T) {
	n := startNode(t, options{})
	c := n.connect(t, "alice", false)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	// The write may fail once the server has closed: the close code tells.
	c.WS.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","id":"`+strings.Repeat("x", wire.MaxFrame)+`"}`))
	if code := c.Closed(); code != websocket.StatusMessageTooBig {
		t.Errorf("close code = %d, want 1009", code)
	}
}

func TestPresenceFlow(t *testing.T) {
	n := startNode(t, options{})
	alice := n.connect(t, "alice", false)
	snap := alice.OK(map[string]any{"type": "subscribe", "users": []string{"bob"}})
	if e := entryOf(t, snap, "bob"); e.Status != "offline" || e.Since != nil || e.LastSeen != nil || e.Custom != nil {
		t.Errorf("never-seen bob = %+v", e)
	}

	bob := n.connect(t, "bob", false)
	e := alice.PresenceOf("bob", "online")
	if e.Since == nil || e.LastSeen == nil {
		t.Errorf("online bob has no since/last_seen: %+v", e)
	}

	bob.OK(map[string]any{"type": "set_status", "status": "busy", "text": "Focus"})
	if e := alice.PresenceOf("bob", "busy"); e.Text != "Focus" {
		t.Errorf("busy bob = %+v", e)
	}
	bob.OK(map[string]any{"type": "set_status", "status": "online"})
	if e := alice.PresenceOf("bob", "online"); e.Text != "" {
		t.Errorf("omitted text was not cleared: %+v", e)
	}
	bob.OK(map[string]any{"type": "idle"})
	alice.PresenceOf("bob", "away")
	bob.OK(map[string]any{"type": "activity"})
	alice.PresenceOf("bob", "online")
	bob.OK(map[string]any{"type": "set_status", "status": "away"})
	alice.PresenceOf("bob", "away")
	bob.OK(map[string]any{"type": "set_status", "status": "offline"})
	alice.PresenceOf("bob", "offline") // invisible

	q := alice.OK(map[string]any{"type": "query", "users": []string{"bob", "nobody"}})
	if e := entryOf(t, q, "bob"); e.Status != "offline" {
		t.Errorf("query of invisible bob = %+v", e)
	}
	if e := entryOf(t, q, "nobody"); e.Status != "offline" || e.LastSeen != nil {
		t.Errorf("query of unknown user = %+v", e)
	}

	bob.OK(map[string]any{"type": "set_status", "status": "online"})
	alice.PresenceOf("bob", "online")
	bob.WS.Close(websocket.StatusNormalClosure, "bye")
	if e := alice.PresenceOf("bob", "offline"); e.LastSeen == nil {
		t.Errorf("bob left with no last_seen: %+v", e)
	}

	alice.OK(map[string]any{"type": "unsubscribe", "users": []string{"bob"}})
	carol := n.connect(t, "carol", false)
	carol.OK(map[string]any{"type": "subscribe", "users": []string{"bob"}})
	bob2 := n.connect(t, "bob", false)
	carol.PresenceOf("bob", "online") // carol, still subscribed, sees bob come back...
	bob2.OK(map[string]any{"type": "set_status", "status": "busy"})
	carol.PresenceOf("bob", "busy")
	if f := alice.Do(map[string]any{"type": "ping"}); f.Type != "pong" { // ...alice got nothing meanwhile
		t.Fatal(f)
	}
	for _, f := range alice.Backlog {
		if f.Type == "presence" {
			t.Errorf("alice got presence after unsubscribing: %+v", f)
		}
	}
}

func TestSubscribeAll(t *testing.T) {
	n := startNode(t, options{})
	n.connect(t, "bob", false)
	dora := n.connect(t, "dora", false)
	dora.OK(map[string]any{"type": "set_status", "status": "offline"})
	alice := n.connect(t, "alice", false)
	snap := alice.OK(map[string]any{"type": "subscribe", "all": true})
	got := map[string]string{}
	for _, e := range snap.Users {
		got[e.ID] = e.Status
	}
	if got["bob"] != "online" || got["alice"] != "online" || len(got) != 2 {
		t.Errorf("snapshot of all = %v, want bob and alice online (not invisible dora)", got)
	}
	n.connect(t, "carol", false)
	alice.PresenceOf("carol", "online")
	alice.OK(map[string]any{"type": "unsubscribe", "all": true})
}

func TestMultiDevice(t *testing.T) {
	n := startNode(t, options{})
	alice := n.connect(t, "alice", false)
	alice.OK(map[string]any{"type": "subscribe", "users": []string{"bob"}})
	phone := n.connect(t, "bob", false)
	alice.PresenceOf("bob", "online")
	laptop := n.connect(t, "bob", false)
	phone.OK(map[string]any{"type": "idle"})
	laptop.OK(map[string]any{"type": "idle"})
	alice.PresenceOf("bob", "away") // away only when every device is
	laptop.OK(map[string]any{"type": "activity"})
	alice.PresenceOf("bob", "online")
	laptop.WS.Close(websocket.StatusNormalClosure, "")
	alice.PresenceOf("bob", "away") // the phone is still there, idle
	phone.WS.Close(websocket.StatusNormalClosure, "")
	alice.PresenceOf("bob", "offline")
}

func TestIdleLimitGoesAway(t *testing.T) {
	n := startNode(t, options{hub: hub.Config{IdleLimit: 100 * time.Millisecond}})
	alice := n.connect(t, "alice", false)
	if alice.Welcome.IdleLimitMS != 100 {
		t.Errorf("idle_limit_ms = %d", alice.Welcome.IdleLimitMS)
	}
	alice.OK(map[string]any{"type": "subscribe", "users": []string{"bob"}})
	bob := n.connect(t, "bob", false)
	alice.PresenceOf("bob", "online")
	alice.PresenceOf("bob", "away") // no activity for the idle limit
	bob.OK(map[string]any{"type": "activity"})
	alice.PresenceOf("bob", "online")
	f := bob.OK(map[string]any{"type": "set_prefs", "auto_away": false})
	if f.Prefs == nil || f.Prefs.AutoAway {
		t.Errorf("prefs = %+v", f.Prefs)
	}
}

func TestHeartbeatClosesSilentConnection(t *testing.T) {
	n := startNode(t, options{web: Config{Heartbeat: 50 * time.Millisecond}})
	alice := n.connect(t, "alice", false)
	alice.OK(map[string]any{"type": "subscribe", "users": []string{"bob"}})

	// bob signs in, then stops reading: his client answers no pings.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws := n.silent(t, "bob")
	if _, data, err := ws.Read(ctx); err != nil || !strings.Contains(string(data), `"welcome"`) {
		t.Fatalf("bob's welcome: %s %v", data, err)
	}
	// bob came and went within a flush window or two: alice may see both
	// states or just the last, but a presence frame is sent only on a change.
	if e := alice.PresenceOf("bob", "offline"); e.LastSeen == nil {
		t.Errorf("bob = %+v, want offline with last_seen", e)
	}
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != -1 && websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("bob's connection ended with %v", err)
	}
	// alice reads, so her pongs keep her alive.
	if f := alice.Do(map[string]any{"type": "ping"}); f.Type != "pong" {
		t.Errorf("alice = %+v", f)
	}
}

func TestRateLimit(t *testing.T) {
	n := startNode(t, options{web: Config{RateLimit: 5, RateBurst: 5, AbuseRefusals: 10}})
	c := n.connect(t, "alice", false)
	for range 5 {
		c.Send(map[string]any{"type": "ping"})
	}
	c.Send(map[string]any{"type": "ping", "id": "over"})
	if f := c.NextWhere("error", func(f wire.Frame) bool { return f.ID == "over" }); f.Code != "rate_limited" {
		t.Errorf("got %+v", f)
	}
	// Past 10 refusals the server closes: the writes after that may fail.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for range 20 {
		if c.WS.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)) != nil {
			break
		}
	}
	if code := c.Closed(); code != 4008 {
		t.Errorf("close code = %d, want 4008", code)
	}
}

func TestTooManyConnectionsPerUser(t *testing.T) {
	n := startNode(t, options{hub: hub.Config{MaxConnsPerUser: 2}})
	n.connect(t, "alice", false)
	n.connect(t, "alice", false)
	c := n.dial(t)
	c.Send(map[string]any{"type": "hello", "id": "h", "token": token(t, "alice", false)})
	if f := c.Next("error"); f.Code != "over_limit" || f.ID != "h" {
		t.Errorf("got %+v", f)
	}
	if code := c.Closed(); code != websocket.StatusPolicyViolation {
		t.Errorf("close code = %d, want 1008", code)
	}
}

func TestSubscriptionLimit(t *testing.T) {
	n := startNode(t, options{hub: hub.Config{MaxSubscriptions: 2}})
	c := n.connect(t, "alice", false)
	c.OK(map[string]any{"type": "subscribe", "users": []string{"a", "b", "a"}}) // a repeated id counts once
	c.OK(map[string]any{"type": "subscribe", "users": []string{"a"}})           // already counted
	c.Fail(map[string]any{"type": "subscribe", "users": []string{"c"}}, "over_limit")
}

func TestOrigin(t *testing.T) {
	n := startNode(t, options{})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	h := http.Header{"Origin": {"http://evil.example"}}
	_, resp, err := websocket.Dial(ctx, "ws"+n.url[4:]+"/ws", &websocket.DialOptions{HTTPHeader: h})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin dial: err %v, resp %v; want 403", err, resp)
	}
	h = http.Header{"Origin": {n.url}}
	ws, _, err := websocket.Dial(ctx, "ws"+n.url[4:]+"/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("same-origin dial: %v", err)
	}
	ws.CloseNow()

	m := startNode(t, options{web: Config{AllowedOrigins: []string{"app.example"}}})
	h = http.Header{"Origin": {"https://app.example"}}
	ws, _, err = websocket.Dial(ctx, "ws"+m.url[4:]+"/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("allowed origin refused: %v", err)
	}
	ws.CloseNow()
}

func TestShutdownClosesWith1001(t *testing.T) {
	n := startNode(t, options{})
	c := n.connect(t, "alice", false)
	n.stop()
	if code := c.Closed(); code != websocket.StatusGoingAway {
		t.Errorf("close code = %d, want 1001", code)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, options{dir: dir})
	c := n.connect(t, "alice", false)
	c.OK(map[string]any{"type": "set_status", "status": "busy", "text": "Deep work"})
	c.OK(map[string]any{"type": "set_prefs", "idle_limit_s": 600})
	n.stop()

	m := startNode(t, options{dir: dir})
	c = m.connect(t, "alice", false)
	if s := c.Welcome.Self; s.Status != "busy" || s.Manual != "busy" || s.Text != "Deep work" {
		t.Errorf("self after restart = %+v", s)
	}
	if c.Welcome.IdleLimitMS != 600000 {
		t.Errorf("idle_limit_ms after restart = %d", c.Welcome.IdleLimitMS)
	}
	bob := m.connect(t, "bob", false)
	f := bob.OK(map[string]any{"type": "query", "users": []string{"alice"}})
	if e := entryOf(t, f, "alice"); e.Status != "busy" || e.Text != "Deep work" {
		t.Errorf("alice after restart = %+v", e)
	}
}

func TestHealthAndDevToken(t *testing.T) {
	n := startNode(t, options{})
	for _, p := range []string{"/livez", "/readyz", "/healthz"} {
		if code, _ := httpGet(t, n.url+p); code != 200 {
			t.Errorf("%s = %d", p, code)
		}
	}
	if code, _ := httpGet(t, n.url+"/dev/token?user=a"); code != 404 {
		t.Errorf("/dev/token outside dev = %d, want 404", code)
	}
	d := startNode(t, options{web: Config{Dev: true}})
	code, body := httpGet(t, d.url+"/dev/token?user=alice&admin=1")
	if code != 200 || !strings.Contains(body, `"token"`) {
		t.Errorf("/dev/token = %d %s", code, body)
	}
	if code, _ := httpGet(t, d.url+"/dev/token"); code != 400 {
		t.Errorf("/dev/token without user = %d, want 400", code)
	}
	if code, body := httpGet(t, n.url+"/"); code != 200 || !strings.Contains(body, "<") {
		t.Errorf("page = %d %q", code, body)
	}
}

func TestMetrics(t *testing.T) {
	n := startNode(t, options{})
	c := n.connect(t, "alice", false)
	c.Do(map[string]any{"type": "ping"})
	c.SendRaw([]byte("{bad"))
	c.Next("error")
	srv := httptest.NewServer(n.srv.AdminHandler())
	defer srv.Close()
	code, _ := httpGet(t, srv.URL+"/debug/pprof/")
	if code != 200 {
		t.Errorf("pprof = %d", code)
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"presence_connections 1",
		`presence_users{status="online"} 1`,
		`presence_commands_total{type="ping"} 1`,
		`presence_commands_total{type="invalid"} 1`,
		`presence_errors_total{code="bad_request"} 1`,
		"presence_fanout_frames_total",
		"presence_slow_consumer_kicks_total 0",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestSlowConsumerIsClosed(t *testing.T) {
	n := startNode(t, options{web: Config{WriteTimeout: 300 * time.Millisecond, MaxQueued: 16, RateLimit: 1e6, RateBurst: 1e6}})
	fast := n.connect(t, "fast", false)
	fast.OK(map[string]any{"type": "subscribe", "users": []string{"slow"}})

	// slow signs in and asks for far more than it ever reads.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws := n.silent(t, "slow")
	fast.PresenceOf("slow", "online")
	ids := make([]string, 500) // a 52 KiB frame, under the 64 KiB limit
	for i := range ids {
		ids[i] = strings.Repeat("u", 100) + strconv.Itoa(i)
	}
	query, _ := json.Marshal(map[string]any{"type": "query", "users": ids})
	go func() {
		for range 300 { // ~20 MB of answers
			if ws.Write(ctx, websocket.MessageText, query) != nil {
				return
			}
		}
	}()

	fast.PresenceOf("slow", "offline") // closed as too slow...
	if f := fast.Do(map[string]any{"type": "ping"}); f.Type != "pong" {
		t.Errorf("fast = %+v", f) // ...while the others go on
	}
	srv := httptest.NewServer(n.srv.AdminHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "presence_slow_consumer_kicks_total 1") {
		t.Errorf("slow consumer not counted")
	}
}
