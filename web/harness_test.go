package web

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/boltstore"
	"github.com/presenced/presenced/web/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testSecret = []byte("test-secret")

// waitFor bounds every wait for an event in these tests.
const waitFor = 5 * time.Second

// node is a hub and web server on a loopback port, over a store.
type node struct {
	t     *testing.T
	url   string // http://127.0.0.1:port
	store store.Store
	hub   *hub.Hub
	srv   *Server
	stop  func()
}

type options struct {
	hub hub.Config
	web Config
	dir string // data folder; default: a new temp dir
	// open opens the store; default: a bbolt store in dir.
	open func(t *testing.T, dir string) store.Store
}

// startNode starts a node and stops it when the test ends.
func startNode(t *testing.T, opts options) *node {
	t.Helper()
	if opts.dir == "" {
		opts.dir = t.TempDir()
	}
	if opts.open == nil {
		opts.open = func(t *testing.T, dir string) store.Store {
			st, err := boltstore.Open(dir, boltstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	st := opts.open(t, opts.dir)
	opts.hub.Store = st
	h := hub.New(opts.hub)
	ctx, cancel := context.WithCancel(context.Background())
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- h.Run(hubCtx) }()
	<-h.Ready()

	opts.web.Hub = h
	opts.web.Secret = testSecret
	opts.web.Log = zerolog.Nop()
	srv := New(opts.web)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	n := &node{t: t, url: "http://" + ln.Addr().String(), store: st, hub: h, srv: srv}
	stopped := false
	n.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		stopHub()
		if err := <-hubDone; err != nil {
			t.Errorf("hub Run: %v", err)
		}
		st.Close()
	}
	t.Cleanup(n.stop)
	return n
}

func token(t *testing.T, user string, admin bool) string {
	t.Helper()
	tok, err := Mint(testSecret, user, "", admin, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// client is a test's WebSocket client.
type client struct {
	t       *testing.T
	ws      *websocket.Conn
	welcome wire.Frame
	frames  chan wire.Frame
	ended   chan error // the read loop's end
	seq     int
	backlog []wire.Frame // frames read while waiting for another
}

// dial connects without saying hello.
func (n *node) dial(t *testing.T) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+n.url[len("http"):]+"/ws", &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &client{t: t, ws: ws, frames: make(chan wire.Frame, 1024), ended: make(chan error, 1)}
	go c.read()
	t.Cleanup(func() { c.ws.CloseNow(); <-c.ended })
	return c
}

// silent dials and says hello as user, with no reader: the connection
// answers no ping and reads nothing until the test does.
func (n *node) silent(t *testing.T, user string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+n.url[len("http"):]+"/ws", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	hello := `{"type":"hello","token":"` + token(t, user, false) + `"}`
	if err := ws.Write(ctx, websocket.MessageText, []byte(hello)); err != nil {
		t.Fatal(err)
	}
	return ws
}

// connect dials and signs in as user.
func (n *node) connect(t *testing.T, user string, admin bool) *client {
	t.Helper()
	c := n.dial(t)
	c.send(map[string]any{"type": "hello", "id": "h", "token": token(t, user, admin)})
	c.welcome = c.next("welcome")
	return c
}

func (c *client) read() {
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.ended <- err
			close(c.frames)
			return
		}
		f, err := wire.DecodeFrame(data)
		if err != nil {
			c.t.Errorf("server sent a frame that is not JSON: %q", data)
			continue
		}
		c.frames <- f
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame of type typ, keeping other frames for later.
func (c *client) next(typ string) wire.Frame {
	c.t.Helper()
	return c.nextWhere(typ, func(wire.Frame) bool { return true })
}

// nextWhere returns the next frame of type typ for which ok is true.
func (c *client) nextWhere(typ string, ok func(wire.Frame) bool) wire.Frame {
	c.t.Helper()
	return c.nextAny(func(f wire.Frame) bool { return f.Type == typ && ok(f) })
}

// do sends a command with a fresh id and returns its reply (result, error
// or pong).
func (c *client) do(cmd map[string]any) wire.Frame {
	c.t.Helper()
	c.seq++
	id := "c" + strconv.Itoa(c.seq)
	cmd["id"] = id
	c.send(cmd)
	return c.nextAny(func(f wire.Frame) bool {
		return f.ID == id && (f.Type == "result" || f.Type == "error" || f.Type == "pong")
	})
}

// ok is do for a command that must succeed.
func (c *client) ok(cmd map[string]any) wire.Frame {
	c.t.Helper()
	f := c.do(cmd)
	if f.Type == "error" {
		c.t.Fatalf("%v: error %s: %s", cmd["type"], f.Code, f.Message)
	}
	return f
}

// untilReply sends cmd until its reply is the error code, or a result when
// code is "", for at most waitFor.
func (c *client) untilReply(cmd map[string]any, code string) {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if f := c.do(cmd); f.Code == code {
			return
		}
	}
	c.t.Fatalf("%v never answered %q", cmd["type"], code)
}

// fail is do for a command that must fail with code.
func (c *client) fail(cmd map[string]any, code string) wire.Frame {
	c.t.Helper()
	f := c.do(cmd)
	if f.Type != "error" || f.Code != code {
		c.t.Fatalf("%v: got %s %s %q, want error %s", cmd["type"], f.Type, f.Code, f.Message, code)
	}
	if f.Message == "" {
		c.t.Errorf("%v: error %s has no message", cmd["type"], code)
	}
	return f
}

func (c *client) nextAny(ok func(wire.Frame) bool) wire.Frame {
	c.t.Helper()
	for i, f := range c.backlog {
		if ok(f) {
			c.backlog = append(c.backlog[:i:i], c.backlog[i+1:]...)
			return f
		}
	}
	timeout := time.After(waitFor)
	for {
		select {
		case f, open := <-c.frames:
			if !open {
				c.t.Fatalf("connection ended while waiting for a frame: %v; got meanwhile: %+v", c.closeErr(), c.backlog)
			}
			if ok(f) {
				return f
			}
			c.backlog = append(c.backlog, f)
		case <-timeout:
			c.t.Fatalf("no such frame within %v; got meanwhile: %+v", waitFor, c.backlog)
		}
	}
}

// presenceOf waits for a presence frame that carries user with status.
func (c *client) presenceOf(user, status string) wire.Entry {
	c.t.Helper()
	var got wire.Entry
	c.nextWhere("presence", func(f wire.Frame) bool {
		for _, e := range f.Users {
			if e.ID == user && e.Status == status {
				got = e
				return true
			}
		}
		return false
	})
	return got
}

func (c *client) closeErr() error {
	select {
	case err := <-c.ended:
		c.ended <- err
		return err
	default:
		return nil
	}
}

// closed waits for the server to close the connection and returns the code.
func (c *client) closed() websocket.StatusCode {
	c.t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case f, open := <-c.frames:
			if open {
				c.backlog = append(c.backlog, f)
				continue
			}
			return websocket.CloseStatus(c.closeErr())
		case <-timeout:
			c.t.Fatalf("connection still open after %v", waitFor)
		}
	}
}

func entryOf(t *testing.T, f wire.Frame, user string) wire.Entry {
	t.Helper()
	for _, e := range f.Users {
		if e.ID == user {
			return e
		}
	}
	t.Fatalf("no entry for %s in %+v", user, f.Users)
	return wire.Entry{}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b [4096]byte
	n, _ := resp.Body.Read(b[:])
	return resp.StatusCode, string(b[:n])
}
