package web

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web/wire"
)

// answerWait bounds how long a connection closed for abuse waits for the
// replies to the commands it read before the decision (a store write takes
// at most 3 s) before it closes anyway.
const answerWait = 5 * time.Second

// conn is one authenticated WebSocket connection: its read loop and its
// outbox (the hub.Sink). Server.beats pings it.
type conn struct {
	srv     *Server
	ws      *websocket.Conn
	id      hub.ConnID
	ident   identity
	session string
	source  string // the client's address, for the abuse log

	pinger *pinger // its socket, and when the client was last heard from

	mu           sync.Mutex
	queue        []outgoing     // replies and events, in order
	pending      []hub.Entry    // latest unsent presence per user, in order of first change
	pendingAt    map[string]int // index of pending by user, once it is too long to scan
	writing      bool           // a flush goroutine runs
	lastPresence time.Time      // when the last presence frame's write began
	flushAt      *time.Timer    // armed while presence waits for its window
	closed       bool
	closeNext    closeReason   // close once the queue is written and every slot answered; 0: none
	closeDone    chan struct{} // closed by that close, when someone waits for it
	expires      time.Time     // when the token ends the session; zero: never
	expiry       *time.Timer   // aimed at expires
	slots        []*slot       // frames waiting for their replies, in order (order.go)
	nextSeq      uint64        // the next frame's slot
	welcomed     bool          // the hub has answered the hello
	dead         bool          // closed for silence: the hub gives it no grace

	wg sync.WaitGroup // flush and close goroutines
}

// Presence queues e, replacing any unsent state of the same user.
func (c *conn) Presence(e hub.Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if i, ok := c.pendingIndex(e.User); ok {
		c.pending[i] = e
	} else {
		c.pending = append(c.pending, e)
		switch n := len(c.pending); {
		case c.pendingAt != nil:
			c.pendingAt[e.User] = n - 1
		case n > pendingScan:
			c.pendingAt = make(map[string]int, n)
			for i := range c.pending {
				c.pendingAt[c.pending[i].User] = i
			}
		}
	}
	c.schedule(false)
}

// pendingScan is how many pending users are looked up by a scan rather
// than a map: a subscriber mostly has one or two changes waiting, and a
// map for them cost more allocations than the frame.
const pendingScan = 8

// pendingIndex finds user in c.pending. Holds c.mu.
func (c *conn) pendingIndex(user string) (int, bool) {
	if c.pendingAt != nil {
		i, ok := c.pendingAt[user]
		return i, ok
	}
	for i := range c.pending {
		if c.pending[i].User == user {
			return i, true
		}
	}
	return 0, false
}

// outgoing is a queued frame: a hub message to encode when written, or one
// already encoded.
type outgoing struct {
	m   hub.Message
	raw []byte
}

// Send queues m behind earlier messages. When the service goes off,
// presence changes not yet written are dropped: none may follow the event.
func (c *conn) Send(m hub.Message) {
	switch m := m.(type) {
	case *hub.ServiceChanged:
		if !m.Service.Enabled {
			c.mu.Lock()
			c.pending, c.pendingAt = nil, nil
			c.mu.Unlock()
		}
	case *hub.Reply, *hub.Welcome:
		c.hubReply(m) // in the order of the frames they answer
		return
	}
	c.enqueue(outgoing{m: m})
}

// enqueue queues a frame. A connection whose queue is full is not reading:
// it is closed as too slow.
func (c *conn) enqueue(o outgoing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if len(c.queue) >= c.srv.cfg.MaxQueued {
		c.closeLocked(closeTooSlow)
		return
	}
	c.queue = append(c.queue, o)
	c.schedule(true)
}

// Close closes the connection for the hub: at once when the server stops,
// else after the queued frames (the error that says why) are written.
func (c *conn) Close(r hub.CloseReason) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch r {
	case hub.CloseTooManyConns:
		c.closeNext = closeTooManyConns
	case hub.CloseBye:
		c.closeNext = closeBye
	case hub.CloseSignedOut:
		c.closeNext = closeSignedOut
	default:
		c.closeLocked(closeShutdown)
		return
	}
	if !c.writing {
		c.startFlush()
	}
}

// schedule starts a flush if the outbox is idle: at once for a message, or
// for presence when the last presence frame is a flush window old;
// otherwise presence waits for the window to end, collecting later
// changes. So a change to a quiet subscriber goes out at once, and only a
// burst is batched. Holds c.mu.
func (c *conn) schedule(urgent bool) {
	if c.writing {
		return // the running flush picks it up
	}
	if wait := c.presenceWait(); !urgent && wait > 0 {
		if c.flushAt == nil {
			c.flushAt = time.AfterFunc(wait, c.flushDue)
		} else {
			c.flushAt.Reset(wait)
		}
		return
	}
	if c.flushAt != nil {
		c.flushAt.Stop()
	}
	c.startFlush()
}

// presenceWait is how long presence must still wait for the window after
// the last presence frame. Holds c.mu.
func (c *conn) presenceWait() time.Duration {
	return c.srv.cfg.FlushWindow - time.Since(c.lastPresence)
}

func (c *conn) flushDue() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.writing && !c.closed && (len(c.queue) > 0 || len(c.pending) > 0) {
		c.startFlush()
	}
}

// startFlush starts the writer goroutine. Holds c.mu.
func (c *conn) startFlush() {
	c.writing = true
	c.wg.Add(1)
	go c.flush()
}

// flush writes everything queued, then ends. Messages that arrive while it
// writes are written in the same run; presence that arrives meanwhile
// waits for the window after the frame before, so a burst of changes costs
// a subscriber one presence frame per window.
func (c *conn) flush() {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		queue, es := c.queue, c.pending
		c.queue, c.pending, c.pendingAt = nil, nil, nil
		if c.closed || (len(queue) == 0 && len(es) == 0) {
			c.writing = false
			if c.closeNext != 0 && len(c.slots) == 0 {
				c.closeLocked(c.closeNext)
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()

		for _, o := range queue {
			if r, ok := o.m.(*hub.Reply); ok && r.Err != nil {
				c.srv.metrics.errors.WithLabelValues(r.Err.Code).Inc()
			}
			var written bool
			if o.raw != nil { // encoded when queued (a pong): not from the pool
				written = c.write(o.raw)
			} else {
				written = c.writeEncoded(func(b []byte) []byte {
					return encodeMessage(b, o.m, c.ident, c.session, c.srv.cfg.Heartbeat)
				})
			}
			if !written {
				return
			}
		}
		var began time.Time
		if len(es) > 0 {
			began = time.Now()
			if !c.writeEncoded(func(b []byte) []byte { return encodePresence(b, es) }) {
				return
			}
			c.srv.metrics.fanoutFrames.Inc()
		}

		c.mu.Lock()
		if !began.IsZero() {
			c.lastPresence = began
		}
		if len(c.queue) == 0 && len(c.pending) > 0 {
			if wait := c.presenceWait(); wait > 0 {
				// Only presence arrived meanwhile: it coalesces until the
				// window after this frame ends.
				c.writing = false
				c.schedule(false)
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
	}
}

// framePool holds the buffers that connections encode their own frames
// into: a subscribe's answer of 100 users is 10-20 KiB, and a connect burst
// made them the largest garbage of all.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// maxPooledFrame bounds what the pool keeps: a rare huge frame (a query of
// thousands of users) is left to the collector.
const maxPooledFrame = 64 << 10

// writeEncoded writes the frame that encode appends to a pooled buffer,
// and gives the buffer back once the frame is written (coder/websocket
// keeps no reference to it then; after a failed write, the buffer is left
// alone).
func (c *conn) writeEncoded(encode func([]byte) []byte) bool {
	bp := framePool.Get().(*[]byte)
	b := encode((*bp)[:0])
	if !c.write(b) {
		return false
	}
	if cap(b) <= maxPooledFrame {
		*bp = b[:0]
		framePool.Put(bp)
	}
	return true
}

// write writes one frame within the write timeout. A connection that cannot
// take a frame in that time is too slow and is closed; write then reports
// false, and the flush ends.
func (c *conn) write(b []byte) bool {
	// The socket's deadline bounds the write, not a context: with a
	// context that can end, coder/websocket arms a callback on every write
	// (four allocations per frame to each subscriber).
	err := c.pinger.setWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	if err == nil {
		err = c.ws.Write(context.Background(), websocket.MessageText, b)
		c.pinger.setWriteDeadline(time.Time{})
	}
	if err == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing = false
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.closeLocked(closeTooSlow)
	} else {
		c.closeLocked(closeWriteError)
	}
	return false
}

// closeLocked closes the connection once, for r, in the background (a close
// handshake may take seconds), and counts it. Holds c.mu.
func (c *conn) closeLocked(r closeReason) {
	if c.closed {
		return
	}
	c.closed = true
	c.queue, c.pending, c.pendingAt, c.slots = nil, nil, nil, nil
	if c.flushAt != nil {
		c.flushAt.Stop()
	}
	if c.closeDone != nil {
		close(c.closeDone)
		c.closeDone = nil
	}
	c.srv.countClose(r)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		// A peer that reads answers the close at once; one that does not
		// (too slow, or gone) is dropped after a grace period.
		drop := time.AfterFunc(closeGrace, func() { c.ws.CloseNow() })
		defer drop.Stop()
		r.close(c.ws)
	}()
}

// leave tells the hub the connection is gone. One found dead by heartbeat
// gets no reconnect grace: the wait for it already happened.
func (c *conn) leave() {
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if dead {
		c.srv.cfg.Hub.DisconnectDead(c.id)
	} else {
		c.srv.cfg.Hub.Disconnect(c.id)
	}
}

// serve runs the connection after a good hello, until it ends.
func (c *conn) serve(ctx context.Context, helloID string) {
	s := c.srv
	c.mu.Lock()
	c.open(helloID, wire.TypeHello, time.Now()) // helloSeq
	c.mu.Unlock()
	c.pinger.noteHeard()
	s.beats.add(c)
	if !s.cfg.Hub.Connect(hub.ConnInfo{ID: c.id, User: c.ident.ID, Admin: c.ident.Admin, RequestID: helloID}, c) {
		c.mu.Lock()
		c.closeLocked(closeShutdown)
		c.mu.Unlock()
		return
	}
	defer c.leave()
	c.mu.Lock()
	c.setExpiry(c.ident.Expires)
	c.mu.Unlock()
	defer c.stopExpiry()

	limiter := rate.NewLimiter(s.cfg.RateLimit, s.cfg.RateBurst)
	var refused int
	var windowStart time.Time
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			c.readEnded(err)
			return
		}
		c.pinger.noteHeard()
		now := time.Now()
		if !limiter.AllowN(now, 1) {
			if now.Sub(windowStart) > s.cfg.AbuseWindow {
				windowStart, refused = now, 0
			}
			refused++
			cmd, _ := wire.Decode(data)
			c.mu.Lock()
			seq, ok := c.open(cmd.ID, "", now)
			c.mu.Unlock()
			if refused > s.cfg.AbuseRefusals {
				// Every frame read so far gets its answer, this one
				// too, before the close.
				if ok {
					c.replyError(seq, wire.CodeRateLimited, "too many commands: the connection is closed")
				}
				s.abuse.note("rate_limited", c.source)
				c.closeWhenAnswered(closeRateLimited)
				return
			}
			if ok {
				c.replyError(seq, wire.CodeRateLimited, "too many commands: slow down")
			}
			continue
		}
		if typ != websocket.MessageText {
			s.metrics.commands.WithLabelValues("binary").Inc()
			c.mu.Lock()
			seq, ok := c.open("", "", now)
			c.mu.Unlock()
			if ok {
				c.replyError(seq, wire.CodeBadRequest, "binary frames are not part of the protocol: send each command as JSON in a text frame")
			}
			continue
		}
		c.handle(data, now)
	}
}

// closeWhenAnswered closes the connection for r once every frame read so
// far is answered and the answers are written, or after answerWait, and
// returns when it is closed.
func (c *conn) closeWhenAnswered(r closeReason) {
	done := make(chan struct{})
	c.mu.Lock()
	c.closeNext, c.closeDone = r, done
	if !c.writing && !c.closed {
		c.startFlush()
	}
	c.mu.Unlock()
	t := time.NewTimer(answerWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		c.mu.Lock()
		c.closeLocked(r)
		c.mu.Unlock()
	}
}

// handle runs one client frame, read at began.
func (c *conn) handle(data []byte, began time.Time) {
	s := c.srv
	cmd, err := wire.Decode(data)
	typ := cmd.Type
	if err != nil {
		typ = "invalid"
	}
	s.metrics.commands.WithLabelValues(typ).Inc()
	c.mu.Lock()
	seq, ok := c.open(cmd.ID, typ, began)
	c.mu.Unlock()
	if !ok {
		return
	}
	if err != nil {
		we := protocolError(err)
		c.replyError(seq, we.Code, we.Message)
		return
	}
	switch cmd.Type {
	case wire.TypePing:
		c.reply(seq, nil, wire.Encode(wire.Pong{Type: wire.TypePong, ID: cmd.ID}))
	case wire.TypeHello:
		c.replyError(seq, wire.CodeBadRequest, "already signed in: hello is the first frame only")
	case wire.TypeRefresh:
		c.refresh(seq, cmd)
	default:
		c.mu.Lock()
		refused := c.closeNext == closeTooManyConns
		c.mu.Unlock()
		if refused {
			c.replyError(seq, wire.CodeOverLimit, "this connection was refused: the user has the most connections allowed")
			return
		}
		if !s.cfg.Hub.Do(c.id, slotID(seq), command(cmd)) {
			c.replyError(seq, wire.CodeUnavailable, "the server is shutting down")
		}
	}
}

// replyError answers the frame of slot seq with an error.
func (c *conn) replyError(seq uint64, code, msg string) {
	c.reply(seq, &hub.Reply{Err: &hub.Error{Code: code, Message: msg}}, nil)
}

// readEnded counts why the read loop ended.
func (c *conn) readEnded(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return // we closed it, and counted why
	}
	c.closed = true
	switch websocket.CloseStatus(err) {
	case websocket.StatusMessageTooBig:
		c.srv.countClose(closeTooBig)
		c.srv.abuse.note("too_big", c.source)
	case -1:
		c.srv.countClose(closeGone)
	default:
		c.srv.countClose(closeByClient)
	}
}
