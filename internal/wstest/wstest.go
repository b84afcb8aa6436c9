// Package wstest is a protocol client for tests over real WebSockets: it
// dials, says hello, keeps every frame it has not been asked for yet, and
// waits for frames by condition, failing the test past its timeout. Tests
// of web and of the cluster share it.
//
// A Client belongs to one test goroutine; its reader goroutine ends with
// the test.
package wstest

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/presenced/presenced/web/wire"
)

// Client is a test's connection.
type Client struct {
	T       testing.TB
	WS      *websocket.Conn
	Welcome wire.Frame   // set by Connect
	Backlog []wire.Frame // frames read while waiting for others
	Timeout time.Duration

	frames chan wire.Frame
	ended  chan error // why the reader stopped
	seq    int
	state  map[string]wire.Entry // the latest presence of each user
}

// Dial connects to the WebSocket URL without saying hello. Every wait
// fails the test after timeout.
func Dial(t testing.TB, url string, timeout time.Duration) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &Client{T: t, WS: ws, Timeout: timeout, frames: make(chan wire.Frame, 4096),
		ended: make(chan error, 1), state: map[string]wire.Entry{}}
	go c.read()
	t.Cleanup(func() { c.WS.CloseNow(); <-c.ended })
	return c
}

// Connect dials and signs in with token.
func Connect(t testing.TB, url, token string, timeout time.Duration) *Client {
	t.Helper()
	c := Dial(t, url, timeout)
	c.Send(map[string]any{"type": "hello", "id": "h", "token": token})
	c.Welcome = c.Next("welcome")
	return c
}

func (c *Client) read() {
	for {
		_, data, err := c.WS.Read(context.Background())
		if err != nil {
			c.ended <- err
			close(c.frames)
			return
		}
		f, err := wire.DecodeFrame(data)
		if err != nil {
			c.T.Errorf("server sent a frame that is not JSON: %q", data)
			continue
		}
		c.frames <- f
	}
}

// Send writes v as JSON.
func (c *Client) Send(v any) {
	c.T.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.T.Fatal(err)
	}
	c.SendRaw(b)
}

// SendRaw writes one text frame.
func (c *Client) SendRaw(b []byte) {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	if err := c.WS.Write(ctx, websocket.MessageText, b); err != nil {
		c.T.Fatalf("write: %v", err)
	}
}

// Next returns the next frame of type typ, keeping other frames for later.
func (c *Client) Next(typ string) wire.Frame {
	c.T.Helper()
	return c.NextWhere(typ, func(wire.Frame) bool { return true })
}

// NextWhere returns the next frame of type typ for which ok is true.
func (c *Client) NextWhere(typ string, ok func(wire.Frame) bool) wire.Frame {
	c.T.Helper()
	return c.NextAny(func(f wire.Frame) bool { return f.Type == typ && ok(f) })
}

// NextAny returns the first frame, kept or new, for which ok is true.
func (c *Client) NextAny(ok func(wire.Frame) bool) wire.Frame {
	c.T.Helper()
	for i, f := range c.Backlog {
		if ok(f) {
			c.Backlog = append(c.Backlog[:i:i], c.Backlog[i+1:]...)
			return f
		}
	}
	timeout := time.After(c.Timeout)
	for {
		select {
		case f, open := <-c.frames:
			if !open {
				c.T.Fatalf("connection ended while waiting for a frame: %v; got meanwhile: %+v", c.closeErr(), c.Backlog)
			}
			if f.Type == wire.TypePresence {
				for _, e := range f.Users {
					c.state[e.ID] = e
				}
			}
			if ok(f) {
				return f
			}
			c.Backlog = append(c.Backlog, f)
		case <-timeout:
			c.T.Fatalf("no such frame within %v; got meanwhile: %+v", c.Timeout, c.Backlog)
		}
	}
}

// Do sends a command with a fresh id and returns its reply (result, error
// or pong).
func (c *Client) Do(cmd map[string]any) wire.Frame {
	c.T.Helper()
	c.seq++
	id := "c" + strconv.Itoa(c.seq)
	cmd["id"] = id
	c.Send(cmd)
	return c.NextAny(func(f wire.Frame) bool {
		return f.ID == id && (f.Type == wire.TypeResult || f.Type == wire.TypeError || f.Type == wire.TypePong)
	})
}

// OK is Do for a command that must succeed.
func (c *Client) OK(cmd map[string]any) wire.Frame {
	c.T.Helper()
	f := c.Do(cmd)
	if f.Type == wire.TypeError {
		c.T.Fatalf("%v: error %s: %s", cmd["type"], f.Code, f.Message)
	}
	return f
}

// Fail is Do for a command that must fail with code and say why.
func (c *Client) Fail(cmd map[string]any, code string) wire.Frame {
	c.T.Helper()
	f := c.Do(cmd)
	if f.Type != wire.TypeError || f.Code != code {
		c.T.Fatalf("%v: got %s %s %q, want error %s", cmd["type"], f.Type, f.Code, f.Message, code)
	}
	if f.Message == "" {
		c.T.Errorf("%v: error %s has no message", cmd["type"], code)
	}
	return f
}

// UntilReply sends cmd until its reply is the error code, or a result when
// code is "", for at most the timeout. Each reply is an event waited on.
func (c *Client) UntilReply(cmd map[string]any, code string) {
	c.T.Helper()
	deadline := time.Now().Add(c.Timeout)
	for time.Now().Before(deadline) {
		if f := c.Do(cmd); f.Code == code {
			return
		}
	}
	c.T.Fatalf("%v never answered %q", cmd["type"], code)
}

// PresenceOf waits for a presence frame that carries user with status.
func (c *Client) PresenceOf(user, status string) wire.Entry {
	c.T.Helper()
	var got wire.Entry
	c.NextWhere(wire.TypePresence, func(f wire.Frame) bool {
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

// Sees waits until the latest presence the client got of user reads
// status, whichever frame carried it. Frames read meanwhile stay in the
// backlog.
func (c *Client) Sees(user, status string) wire.Entry {
	c.T.Helper()
	timeout := time.After(c.Timeout)
	for c.state[user].Status != status {
		select {
		case f, open := <-c.frames:
			if !open {
				c.T.Fatalf("connection ended while waiting for %s %s: %v", user, status, c.closeErr())
			}
			for _, e := range f.Users {
				if f.Type == wire.TypePresence {
					c.state[e.ID] = e
				}
			}
			c.Backlog = append(c.Backlog, f)
		case <-timeout:
			c.T.Fatalf("%s is not %s within %v (last seen %+v)", user, status, c.Timeout, c.state[user])
		}
	}
	return c.state[user]
}

// Closed waits for the server to close the connection and returns the
// close code (-1 for a close without one).
func (c *Client) Closed() websocket.StatusCode {
	c.T.Helper()
	timeout := time.After(c.Timeout)
	for {
		select {
		case f, open := <-c.frames:
			if open {
				c.Backlog = append(c.Backlog, f)
				continue
			}
			return websocket.CloseStatus(c.closeErr())
		case <-timeout:
			c.T.Fatalf("connection still open after %v", c.Timeout)
		}
	}
}

func (c *Client) closeErr() error {
	select {
	case err := <-c.ended:
		c.ended <- err
		return err
	default:
		return nil
	}
}

// Carries reports whether f is a presence frame with an entry of user.
func Carries(f wire.Frame, user string) bool {
	if f.Type != wire.TypePresence {
		return false
	}
	for _, e := range f.Users {
		if e.ID == user {
			return true
		}
	}
	return false
}

// ReasonOf is e's reason, "null" when it has none.
func ReasonOf(e wire.Entry) string {
	if e.Reason == nil {
		return "null"
	}
	return *e.Reason
}
