package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/web/wire"
)

// pipeListener hands out one connection, then blocks until closed.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// pipeConn is a server connection whose WebSocket runs over net.Pipe
// through the server's own accept path (http.Server, the hijack, Accept),
// so a test inside a synctest bubble moves its clock: nothing waits on a
// real socket. The client end, dialled with opts (nil: the defaults),
// reads what the connection writes. Both end with the test.
func pipeConn(t *testing.T, cfg Config, opts *websocket.DialOptions) (*conn, *websocket.Conn) {
	t.Helper()
	cfg.Hub = hub.New(hub.Config{})
	cfg.Secret = testSecret
	s := New(cfg)
	srvEnd, cliEnd := net.Pipe()
	ln := &pipeListener{conns: make(chan net.Conn, 1), done: make(chan struct{})}
	ln.conns <- srvEnd
	accepted := make(chan *websocket.Conn, 1)
	p := new(pinger)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(smallBuffers{w, p}, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			close(accepted)
			return
		}
		accepted <- ws
	})}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return cliEnd, nil }}
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	opts.HTTPClient = &http.Client{Transport: tr}
	cli, _, err := websocket.Dial(context.Background(), "ws://pipe/ws", opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws := <-accepted
	if ws == nil {
		t.FailNow()
	}
	c := &conn{srv: s, ws: ws, id: s.cfg.Hub.NewConnID(), ident: identity{ID: "alice"}, pinger: p}
	t.Cleanup(func() {
		cli.CloseNow()
		ws.CloseNow()
		c.wg.Wait()
		s.beats.stop()
		hs.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		tr.CloseIdleConnections()
	})
	return c, cli
}

// arrival is one frame as the client read it, and when.
type arrival struct {
	at    time.Time
	typ   string
	users []wire.Entry
}

// readFrames reads frames from ws until it ends.
func readFrames(t *testing.T, ws *websocket.Conn) <-chan arrival {
	frames := make(chan arrival, 100)
	go func() {
		defer close(frames)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			f, err := wire.DecodeFrame(data)
			if err != nil {
				t.Errorf("frame %q: %v", data, err)
				return
			}
			frames <- arrival{at: time.Now(), typ: f.Type, users: f.Users}
		}
	}()
	return frames
}

func bobAs(text string) hub.Entry {
	return hub.Entry{User: "bob", Status: presence.Busy, Text: text, Since: time.Now(), LastSeen: time.Now()}
}

// A burst of 50 changes within a few milliseconds reaches a subscriber as
// fewer frames than changes, in order, the last one the final state; the
// first goes out at once.
func TestOutboxBatchesABurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, cli := pipeConn(t, Config{}, nil) // the default window
		frames := readFrames(t, cli)
		start := time.Now()
		for i := range 50 {
			c.Presence(bobAs(fmt.Sprint("t", i)))
			time.Sleep(50 * time.Microsecond)
		}
		var got []string
		var first time.Time
		for a := range frames {
			if first.IsZero() {
				first = a.at
			}
			if len(a.users) != 1 || a.users[0].ID != "bob" {
				t.Fatalf("frame users %+v, want bob alone", a.users)
			}
			got = append(got, a.users[0].Text)
			if a.users[0].Text == "t49" {
				break
			}
		}
		if len(got) >= 50 {
			t.Errorf("%d frames for 50 changes: %v", len(got), got)
		}
		prev := -1
		for _, text := range got {
			var n int
			fmt.Sscanf(text, "t%d", &n)
			if n <= prev {
				t.Errorf("frames out of order: %v", got)
			}
			prev = n
		}
		if d := first.Sub(start); d != 0 {
			t.Errorf("the first change waited %v, want none", d)
		}
		t.Logf("50 changes in %d frames: %v", len(got), got)
	})
}

// Changes of many users within one window fold into one frame: each user
// once, in the order of their first change, with their latest state.
func TestOutboxFoldsManyUsers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, cli := pipeConn(t, Config{}, nil)
		frames := readFrames(t, cli)
		c.Presence(bobAs("opens the window"))
		<-frames
		const users = 3 * pendingScan
		for _, text := range []string{"first", "latest"} {
			for i := range users {
				c.Presence(hub.Entry{User: fmt.Sprint("u", i), Status: presence.Busy, Text: text, Since: time.Now()})
			}
		}
		a := <-frames
		if len(a.users) != users {
			t.Fatalf("%d users in the frame, want %d: %+v", len(a.users), users, a.users)
		}
		for i, e := range a.users {
			if want := fmt.Sprint("u", i); e.ID != want || e.Text != "latest" {
				t.Errorf("entry %d is %s %q, want %s %q", i, e.ID, e.Text, want, "latest")
			}
		}
	})
}

// With the default window, a change 20 ms after the previous frame goes
// out at once, and so does one right after a reply (only presence frames
// open a window); one within the window after a presence frame waits for
// the window to end, not longer.
func TestOutboxWritesAQuietChangeAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, cli := pipeConn(t, Config{}, nil)
		frames := readFrames(t, cli)
		next := func(want string) arrival {
			t.Helper()
			a := <-frames
			got := a.typ
			if a.typ == "presence" && len(a.users) == 1 {
				got = a.users[0].Text
			}
			if got != want {
				t.Fatalf("got %s %+v, want %q", a.typ, a.users, want)
			}
			return a
		}

		c.Presence(bobAs("first"))
		next("first")
		time.Sleep(20 * time.Millisecond)
		sent := time.Now()
		c.Presence(bobAs("20 ms later"))
		if a := next("20 ms later"); a.at != sent {
			t.Errorf("a change 20 ms after a frame waited %v, want none", a.at.Sub(sent))
		}

		time.Sleep(DefaultFlushWindow / 2)
		c.Presence(bobAs("within the window"))
		if a := next("within the window"); a.at.Sub(sent) != DefaultFlushWindow {
			t.Errorf("a change within the window after a frame came %v after it, want the window's end (%v)", a.at.Sub(sent), DefaultFlushWindow)
		}

		time.Sleep(20 * time.Millisecond)
		// A ping's pong, as the read loop answers one.
		c.mu.Lock()
		seq, _ := c.open("r", wire.TypePing, time.Now())
		c.mu.Unlock()
		c.reply(seq, nil, wire.Encode(wire.Pong{Type: wire.TypePong, ID: "r"}))
		next("pong")
		sent = time.Now()
		c.Presence(bobAs("after a reply"))
		if a := next("after a reply"); a.at != sent {
			t.Errorf("a change right after a reply waited %v, want none", a.at.Sub(sent))
		}
	})
}
