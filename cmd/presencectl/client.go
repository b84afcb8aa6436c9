package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/presenced/presenced/web/wire"
)

// clientName is what presencectl says it is in hello.
const clientName = "presencectl/1"

// dialOptions configure dial. The zero value is usable.
type dialOptions struct {
	// HTTPClient makes the upgrade request. Nil: http.DefaultClient.
	HTTPClient *http.Client

	// OnEvent is called on the connection's read goroutine with every frame
	// that is not the reply to a pending request: events, and replies to
	// commands sent with send. It must not block. Nil: such frames are
	// dropped (the admin commands wait only for their replies).
	OnEvent func(f *wire.Frame)

	// OnPresence, when set, gets the entries of presence frames instead
	// of OnEvent, read lean (lean.go), on the read goroutine; it must not
	// block. The answers to subscribes and queries are then read lean as
	// well: their entries are not decoded.
	OnPresence func(es []leanEntry)
}

// conn is one authenticated protocol connection. One goroutine reads it,
// matches replies to requests by id and hands everything else to the
// event handler. Its methods are safe for concurrent use.
type conn struct {
	ws         *websocket.Conn
	onEvent    func(f *wire.Frame)
	onPresence func(es []leanEntry)
	leanBuf    []leanEntry // the read goroutine's

	seq     atomic.Uint64
	mu      sync.Mutex
	pending map[string]chan reply

	frames  atomic.Int64 // frames received
	lean    atomic.Int64 // of them, read lean (readLean)
	closing atomic.Bool  // we started the close
	// service is the service state this connection was told last: the
	// welcome's, then each service event's, in the order they came.
	service atomic.Pointer[wire.Service]

	done chan struct{}
	// Set before done is closed:
	err          error // why reading stopped
	serverClosed bool  // it stopped before we asked it to
}

// reply is the server's answer to one command.
type reply struct {
	wire.Frame
	Raw json.RawMessage
}

// handshakeError is an upgrade the server refused with an HTTP status.
type handshakeError struct {
	Status int
	err    error
}

func (e *handshakeError) Error() string { return e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// dial connects to a presence server's WebSocket URL, says hello with
// token and waits for the welcome. A refused hello returns a *wire.Error.
func dial(ctx context.Context, url, token string, o dialOptions) (*conn, *wire.Frame, error) {
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient:   o.HTTPClient,
		Subprotocols: []string{wire.Subprotocol},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			err = &handshakeError{Status: resp.StatusCode, err: err}
		}
		return nil, nil, fmt.Errorf("dial %s: %w", url, err)
	}
	ws.SetReadLimit(wire.MaxFrame)
	c := &conn{
		ws:         ws,
		onEvent:    o.OnEvent,
		onPresence: o.OnPresence,
		pending:    make(map[string]chan reply),
		done:       make(chan struct{}),
	}
	go c.read()

	r, err := c.request(ctx, wire.Command{Type: wire.TypeHello, Token: token, Client: clientName})
	if err == nil && r.Type != wire.TypeWelcome {
		err = fmt.Errorf("server answered hello with %q", r.Type)
	}
	if err != nil {
		c.closeNow()
		return nil, nil, fmt.Errorf("hello: %w", err)
	}
	return c, &r.Frame, nil
}

// read is the connection's only reader. It ends when the connection does.
func (c *conn) read() {
	defer close(c.done)
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			c.serverClosed = !c.closing.Load()
			c.failPending()
			return
		}
		c.frames.Add(1)
		if c.onPresence != nil && c.readLean(b) {
			c.lean.Add(1)
			continue
		}
		f, err := wire.DecodeFrame(b)
		if err != nil {
			continue // not ours to fix; the frame count shows it arrived
		}
		switch {
		case f.Type == wire.TypeWelcome && f.Service != nil:
			c.service.Store(f.Service)
		case f.Type == wire.TypeService:
			c.service.Store(&wire.Service{State: f.State, Reason: f.Reason, Connections: f.Connections, Limit: f.Limit})
		}
		if f.ID != "" && isReply(f.Type) && c.deliver(reply{Frame: f, Raw: b}) {
			continue
		}
		if c.onEvent != nil {
			c.onEvent(&f)
		}
	}
}

// readLean hands over a presence frame or the answer to a pending
// subscribe or query without decoding it whole, and reports whether it
// did.
func (c *conn) readLean(b []byte) bool {
	if id, ok := leanResult(b); ok {
		return c.deliver(reply{Frame: wire.Frame{Type: wire.TypeResult, ID: id, OK: true}, Raw: b})
	}
	es, ok := leanPresence(b, c.leanBuf[:0])
	c.leanBuf = es[:0]
	if ok {
		c.onPresence(es)
	}
	return ok
}

// deliver hands r to the request waiting for it, and reports whether one
// was.
func (c *conn) deliver(r reply) bool {
	c.mu.Lock()
	ch, ok := c.pending[r.ID]
	delete(c.pending, r.ID)
	c.mu.Unlock()
	if ok {
		ch <- r
	}
	return ok
}

func isReply(typ string) bool {
	switch typ {
	case wire.TypeWelcome, wire.TypeResult, wire.TypeError, wire.TypePong:
		return true
	}
	return false
}

// failPending drops the waiters of requests that will get no reply; they
// see done closed.
func (c *conn) failPending() {
	c.mu.Lock()
	c.pending = nil
	c.mu.Unlock()
}

// request sends cmd and waits for its reply. An error reply returns the
// reply and a *wire.Error. cmd.ID is chosen when empty.
func (c *conn) request(ctx context.Context, cmd wire.Command) (*reply, error) {
	if cmd.ID == "" {
		cmd.ID = "r" + strconv.FormatUint(c.seq.Add(1), 10)
	}
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.pending == nil {
		c.mu.Unlock()
		return nil, c.closedErr()
	}
	c.pending[cmd.ID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, cmd.ID)
		c.mu.Unlock()
	}()

	if err := c.send(ctx, cmd); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return answer(r)
	case <-c.done:
		// The reply may have come just before the close (an error frame
		// and then 4001): it wins.
		select {
		case r := <-ch:
			return answer(r)
		default:
			return nil, c.closedErr()
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func answer(r reply) (*reply, error) {
	if r.Type == wire.TypeError {
		return &r, &wire.Error{Code: r.Code, Message: r.Message}
	}
	return &r, nil
}

// send writes cmd without waiting for its reply, which goes to the event
// handler.
func (c *conn) send(ctx context.Context, cmd wire.Command) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return fmt.Errorf("encode %s: %w", cmd.Type, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		select {
		case <-c.done: // the server's close explains it better
			return c.closedErr()
		default:
		}
		return fmt.Errorf("send %s: %w", cmd.Type, err)
	}
	return nil
}

// closedErr says why the connection is gone; done must be closed.
func (c *conn) closedErr() error {
	<-c.done
	return fmt.Errorf("connection closed: %w", c.err)
}

// ended reports whether the connection is gone, and if so whether the
// server ended it (rather than us) and with which close code (-1: none,
// e.g. a reset).
func (c *conn) ended() (ended, byServer bool, code websocket.StatusCode) {
	select {
	case <-c.done:
		return true, c.serverClosed, websocket.CloseStatus(c.err)
	default:
		return false, false, -1
	}
}

// close performs the close handshake with 1000 and waits for the reader.
func (c *conn) close() {
	c.closing.Store(true)
	c.ws.Close(websocket.StatusNormalClosure, "") // its error is the reader's too
	<-c.done
}

// closeNow drops the connection without a handshake and waits for the reader.
func (c *conn) closeNow() {
	c.closing.Store(true)
	c.ws.CloseNow()
	<-c.done
}
