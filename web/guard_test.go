package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/presenced/presenced/web/wire"
)

// source is a loopback source address, 127.0.0.i: Linux routes all of
// 127/8 to lo, so a test can be many clients.
func source(i int) *net.TCPAddr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i))} }

// dialFrom opens a TCP connection to the node from src, closed when the
// test ends.
func (n *node) dialFrom(t *testing.T, src *net.TCPAddr) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: src, Timeout: waitFor}
	c, err := d.Dial("tcp", n.url[len("http://"):])
	if err != nil {
		t.Fatalf("dial from %v: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends one keep-alive GET on c and returns its status, leaving c
// open for the next request.
func get(t *testing.T, c net.Conn, path string) int {
	t.Helper()
	c.SetDeadline(time.Now().Add(waitFor))
	defer c.SetDeadline(time.Time{})
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// wsFrom dials the node's socket from src, without hello.
func (n *node) wsFrom(t *testing.T, src *net.TCPAddr) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: src}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	t.Cleanup(hc.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, n.wsURL(), &websocket.DialOptions{HTTPClient: hc, Subprotocols: []string{wire.Subprotocol}})
	if err == nil {
		t.Cleanup(func() { ws.CloseNow() })
	}
	return ws, resp, err
}

// signInFrom dials from src and says hello as user; it fails the test
// unless welcomed.
func (n *node) signInFrom(t *testing.T, src *net.TCPAddr, user string) *websocket.Conn {
	t.Helper()
	ws, _, err := n.wsFrom(t, src)
	if err != nil {
		t.Fatalf("dial from %v as %s: %v", src, user, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","token":"`+token(t, user, false)+`"}`))
	_, data, err := ws.Read(ctx)
	if err != nil || !strings.Contains(string(data), `"welcome"`) {
		t.Fatalf("hello from %v as %s: %s, %v", src, user, data, err)
	}
	return ws
}

// refused reads the answer a refused connection gets: a 503 that closes
// it.
func refused(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(waitFor))
	fmt.Fprintf(c, "GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("refused connection: %v; want a 503", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !resp.Close {
		t.Fatalf("refused connection: %d, close %v; want 503 and a close", resp.StatusCode, resp.Close)
	}
}

func refusals(n *node, reason string) float64 {
	return counterValue(n.srv.metrics.connsRefused.WithLabelValues(reason))
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

// waitUntil polls cond, which reads state that no event announces (the
// server's counters), until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIdleKeepAliveClosed: a keep-alive HTTP connection that sends
// nothing more is closed after HTTPIdleTimeout.
func TestIdleKeepAliveClosed(t *testing.T) {
	n := startNode(t, options{web: Config{HTTPIdleTimeout: 200 * time.Millisecond}})
	c := n.dialFrom(t, source(2))
	if code := get(t, c, "/livez"); code != http.StatusOK {
		t.Fatalf("GET /livez = %d", code)
	}
	c.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle keep-alive connection: read %v, want EOF (closed by the server)", err)
	}
}

func TestHugeHeadersRefused(t *testing.T) {
	n := startNode(t, options{})
	c := n.dialFrom(t, source(2))
	c.SetDeadline(time.Now().Add(waitFor))
	fmt.Fprintf(c, "GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: %s\r\n\r\n", strings.Repeat("a", 64<<10))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d, want 431", resp.StatusCode)
	}
}

// TestKeepAlivesCannotFillTheBudget is the exhaustion of issue 18 in
// small: idle keep-alive connections and silent ones spend the share of
// connections not signed in, and a user still signs in, because an idle
// keep-alive is closed to make room.
func TestKeepAlivesCannotFillTheBudget(t *testing.T) {
	const budget = 200
	n := startNode(t, options{web: Config{MaxConns: budget, MaxPendingPerSource: -1}})
	for i := range 40 {
		c := n.dialFrom(t, source(2+i))
		if code := get(t, c, "/livez"); code != http.StatusOK {
			t.Fatalf("keep-alive %d: GET /livez = %d", i, code)
		}
	}
	for i := range budget/2 - 40 {
		n.dialFrom(t, source(2+i))
	}
	// A keep-alive that goes idle once the node is under pressure is
	// closed at once: each one is either pending or closed.
	waitUntil(t, "the share of connections not signed in spent", func() bool {
		n.srv.guard.mu.Lock()
		defer n.srv.guard.mu.Unlock()
		return n.srv.guard.pending+int(counterValue(n.srv.metrics.idleClosed)) == budget/2
	})
	n.signInFrom(t, source(100), "alice")
	if got := refusals(n, refusedPending); got != 0 {
		t.Errorf("%v refusals while idle keep-alives could make room", got)
	}
	if got := counterValue(n.srv.metrics.idleClosed); got < 1 {
		t.Errorf("idle keep-alives closed = %v, want at least 1", got)
	}
}

// TestPendingShareKeepsRoomForSignedIn: connections that never sign in
// (here silent TCP connections) get at most half the budget; signed-in
// users get the rest, up to the whole budget, past which anything is
// refused for capacity.
func TestPendingShareKeepsRoomForSignedIn(t *testing.T) {
	const budget = 40
	n := startNode(t, options{web: Config{MaxConns: budget, MaxPendingPerSource: -1}})
	var silent []net.Conn
	for i := range budget / 2 {
		silent = append(silent, n.dialFrom(t, source(2+i)))
	}
	waitUntil(t, "every silent connection admitted", func() bool {
		n.srv.guard.mu.Lock()
		defer n.srv.guard.mu.Unlock()
		return n.srv.guard.pending == budget/2
	})
	refused(t, n.dialFrom(t, source(60)))
	if got := refusals(n, refusedPending); got != 1 {
		t.Errorf("pending refusals = %v, want 1", got)
	}
	// The silent ones go; users sign in until the whole budget is theirs.
	for _, c := range silent {
		c.Close()
	}
	waitUntil(t, "the silent connections gone", func() bool {
		n.srv.guard.mu.Lock()
		defer n.srv.guard.mu.Unlock()
		return n.srv.guard.pending == 0
	})
	for i := range budget {
		n.signInFrom(t, source(100+i%50), fmt.Sprintf("u%d", i))
	}
	refused(t, n.dialFrom(t, source(61)))
	if got := refusals(n, refusedCapacity); got != 1 {
		t.Errorf("capacity refusals = %v, want 1", got)
	}
}

// TestPerSourcePendingLimit: one address may hold only so many
// connections not signed in; others are not affected, and signing in
// frees the place.
func TestPerSourcePendingLimit(t *testing.T) {
	n := startNode(t, options{web: Config{MaxPendingPerSource: 5}})
	attacker := source(2)
	for range 5 {
		n.dialFrom(t, attacker)
	}
	waitUntil(t, "the attacker's connections admitted", func() bool {
		n.srv.guard.mu.Lock()
		defer n.srv.guard.mu.Unlock()
		return n.srv.guard.pending == 5
	})
	refused(t, n.dialFrom(t, attacker))
	if got := refusals(n, refusedPerSource); got != 1 {
		t.Errorf("per-source refusals = %v, want 1", got)
	}
	n.signInFrom(t, source(3), "bob") // another address is served
	for i := range 5 {
		n.signInFrom(t, source(4), fmt.Sprintf("u%d", i)) // signed in: not pending
	}
	n.signInFrom(t, source(4), "carol")
}

// TestShortHelloUnderPressure: while the node is under pressure, a socket
// that does not say hello is closed 4002 after PressureAuthTimeout, not
// AuthTimeout.
func TestShortHelloUnderPressure(t *testing.T) {
	const budget = 40
	n := startNode(t, options{web: Config{MaxConns: budget, MaxPendingPerSource: -1,
		AuthTimeout: time.Hour, PressureAuthTimeout: 100 * time.Millisecond}})
	for i := range budget / 4 { // half the pending share
		n.dialFrom(t, source(2+i))
	}
	waitUntil(t, "under pressure", n.srv.guard.underPressure)
	ws, _, err := n.wsFrom(t, source(50))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, _, err = ws.Read(ctx)
	if code := websocket.CloseStatus(err); code != 4002 {
		t.Errorf("silent socket under pressure: %v, want 4002", err)
	}
}
