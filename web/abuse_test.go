package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/internal/testlog"
	"github.com/presenced/presenced/web/wire"
)

// TestFloodIsAnsweredBeforeThe4008 is issue 18's 141 pings at once, with
// commands for the hub among them: every frame read before the close gets
// exactly one reply, then the close is 4008. The default burst of 40 and
// 100 refusals, with a slow refill so that a slow machine sending them
// still trips the close.
func TestFloodIsAnsweredBeforeThe4008(t *testing.T) {
	n := startNode(t, options{web: Config{RateLimit: 0.1, RateBurst: 40}})
	c := n.connect(t, "alice", false)
	var b strings.Builder
	const frames = 141
	for i := range frames {
		b.Reset()
		if i%10 == 0 {
			fmt.Fprintf(&b, `{"type":"set_status","id":"%d","status":"busy"}`, i)
		} else {
			fmt.Fprintf(&b, `{"type":"ping","id":"%d"}`, i)
		}
		c.SendRaw([]byte(b.String()))
	}
	if code := c.Closed(); code != 4008 {
		t.Fatalf("close = %d, want 4008", code)
	}
	replies := map[string]int{}
	rateLimited := 0
	for _, f := range c.Backlog {
		if f.ID == "" {
			continue // presence
		}
		replies[f.ID]++
		if f.Code == wire.CodeRateLimited {
			rateLimited++
		}
	}
	for i := range frames {
		if id := strconv.Itoa(i); replies[id] != 1 {
			t.Errorf("frame %s got %d replies, want 1", id, replies[id])
		}
	}
	if rateLimited < 100 {
		t.Errorf("%d rate_limited replies, want over 100 before the close", rateLimited)
	}
}

// TestBinaryFrames: the protocol is JSON in text frames. A binary hello is
// refused like any bad hello (4001); a binary frame later is a bad
// request that leaves the connection open.
func TestBinaryFrames(t *testing.T) {
	n := startNode(t, options{})
	c := n.dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	hello := []byte(`{"type":"hello","token":"` + token(t, "alice", false) + `"}`)
	c.WS.Write(ctx, websocket.MessageBinary, hello)
	if f := c.Next("error"); f.Code != wire.CodeUnauthorized || !strings.Contains(f.Message, "text frame") {
		t.Errorf("binary hello: %+v", f)
	}
	if code := c.Closed(); code != 4001 {
		t.Errorf("binary hello: close %d, want 4001", code)
	}

	c = n.connect(t, "alice", false)
	c.WS.Write(ctx, websocket.MessageBinary, []byte(`{"type":"ping","id":"p"}`))
	if f := c.Next("error"); f.Code != wire.CodeBadRequest || !strings.Contains(f.Message, "binary") {
		t.Errorf("binary frame: %+v", f)
	}
	c.Send(map[string]any{"type": "ping", "id": "after"})
	if f := c.Next("pong"); f.ID != "after" {
		t.Errorf("after a binary frame: %+v", f)
	}
}

// TestHostChecked: a request naming a host the server does not go by (a
// DNS-rebinding page) is refused, page and socket alike; IP addresses,
// localhost and the hosts of -allowed-origins are served.
func TestHostChecked(t *testing.T) {
	n := startNode(t, options{web: Config{Dev: true, AllowedOrigins: []string{"*.example.com", "https://app.example.org"}}})
	tests := []struct {
		host, path string
		want       int
	}{
		{"rebind.attacker.test:8080", "/", http.StatusMisdirectedRequest},
		{"rebind.attacker.test", "/ws", http.StatusMisdirectedRequest},
		{"rebind.attacker.test", "/dev/token?user=alice", http.StatusForbidden},
		{"127.0.0.1:1", "/", http.StatusOK},
		{"[::1]:1", "/", http.StatusOK},
		{"localhost:1", "/", http.StatusOK},
		{"presence.example.com", "/", http.StatusOK},
		{"app.example.org:443", "/", http.StatusOK},
		{"example.com.attacker.test", "/", http.StatusMisdirectedRequest},
		{"rebind.attacker.test", "/livez", http.StatusOK}, // probes name the node as they like
		// /dev/token mints only for loopback hosts, allowed or not.
		{"presence.example.com", "/dev/token?user=alice", http.StatusForbidden},
		{"localhost:1", "/dev/token?user=alice", http.StatusOK},
		{"127.0.0.1:1", "/dev/token?user=alice", http.StatusOK},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", n.url+tt.path, nil)
		req.Host = tt.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("Host %s, GET %s: %d, want %d", tt.host, tt.path, resp.StatusCode, tt.want)
		}
	}

	// A rebinding page's socket: Origin and Host agree, so only the Host
	// check stops it.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, n.wsURL(), &websocket.DialOptions{
		Host: "rebind.attacker.test", HTTPHeader: http.Header{"Origin": {"http://rebind.attacker.test"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("rebinding socket: %v, %v; want 421", resp, err)
	}
}

// abuseLines are the log's abuse lines of kind.
func abuseLines(t *testing.T, log *testlog.Buffer, kind string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, m := range log.Lines(t) {
		if m["abuse"] == kind {
			lines = append(lines, m)
		}
	}
	return lines
}

// TestAbuseIsLoggedSampled: 30 bad hellos from one address make one
// warning at once and one with the rest of the count when the interval
// ends (here: at shutdown), naming the address.
func TestAbuseIsLoggedSampled(t *testing.T) {
	var out testlog.Buffer
	log := zerolog.New(&out)
	n := startNode(t, options{log: &log, web: Config{AbuseLogEvery: time.Hour}})
	for range 30 {
		ws := n.signInFails(t, source(7))
		ws.CloseNow()
	}
	lines := abuseLines(t, &out, "auth_failed")
	if len(lines) != 1 || lines[0]["count"] != 1.0 || lines[0]["level"] != "warn" {
		t.Fatalf("after 30 bad hellos the log has %v; want one warning with count 1", lines)
	}
	n.stop()
	lines = abuseLines(t, &out, "auth_failed")
	if len(lines) != 2 || lines[1]["count"] != 29.0 {
		t.Fatalf("at shutdown the log has %v; want a second line with count 29", lines)
	}
	if src, _ := lines[1]["sources"].(map[string]any); src["127.0.0.7"] != 29.0 {
		t.Errorf("sources = %v, want 127.0.0.7: 29", lines[1]["sources"])
	}
}

// signInFails says hello from src with a bad token and waits for the
// refusal.
func (n *node) signInFails(t *testing.T, src *net.TCPAddr) *websocket.Conn {
	t.Helper()
	ws, _, err := n.wsFrom(t, src)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","token":"forged"}`))
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			if code := websocket.CloseStatus(err); code != 4001 {
				t.Fatalf("bad hello: %v, want 4001", err)
			}
			return ws
		}
	}
}

// TestAbuseLogInterval: under a steady attack the log gets one line per
// kind per interval, and the counts add up.
func TestAbuseLogInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out testlog.Buffer
		a := newAbuseLog(zerolog.New(&out), 10*time.Second)
		for i := range 1000 { // 40 s of 25 a second, from 20 addresses
			a.note("rate_limited", fmt.Sprintf("127.0.0.%d:1234", 2+i%20))
			time.Sleep(40 * time.Millisecond)
		}
		a.stop()
		lines := abuseLines(t, &out, "rate_limited")
		if len(lines) < 4 || len(lines) > 6 {
			t.Errorf("%d lines for 40 s of abuse, want one per 10 s", len(lines))
		}
		total := 0.0
		for _, l := range lines {
			total += l["count"].(float64)
			if src := l["sources"].(map[string]any); len(src) > maxAbuseSources {
				t.Errorf("a line names %d sources, at most %d", len(src), maxAbuseSources)
			}
		}
		if total != 1000 {
			t.Errorf("counts add up to %v, want 1000", total)
		}
	})
}

// TestUserConnectionLimitDefault: on the free edition one user's 21st
// connection is refused over_limit, admins are told whose (once, not per
// refusal), and the workspace's limit is not touched.
func TestUserConnectionLimitDefault(t *testing.T) {
	n := startNode(t, options{})
	admin := n.connect(t, "root", true)
	for range hub.DefaultFreeConnsPerUser {
		n.connect(t, "alice", false)
	}
	for range 2 {
		c := n.dial(t)
		c.Send(map[string]any{"type": "hello", "id": "h", "token": token(t, "alice", false)})
		if f := c.Next("error"); f.Code != wire.CodeOverLimit || f.ID != "h" {
			t.Fatalf("alice's connection %d: %+v, want over_limit", hub.DefaultFreeConnsPerUser+1, f)
		}
		c.Closed()
	}
	f := admin.Next("notice")
	if f.Code != "user_connection_limit" || !strings.Contains(f.Message, "alice") {
		t.Errorf("admin notice = %+v", f)
	}
	stats := admin.OK(map[string]any{"type": "admin.stats"})
	if stats.Connections != hub.DefaultFreeConnsPerUser+1 || stats.Service.State != "enabled" {
		t.Errorf("stats = connections %d, service %+v; want %d and enabled", stats.Connections, stats.Service, hub.DefaultFreeConnsPerUser+1)
	}
	for _, f := range admin.Backlog {
		if f.Type == "notice" {
			t.Errorf("a second notice for the second refusal: %+v", f)
		}
	}
}
