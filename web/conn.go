package web

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web/wire"
)

// conn is one authenticated WebSocket connection: its read loop and its
// outbox (the hub.Sink). Server.beats pings it.
type conn struct {
	srv     *Server
	ws      *websocket.Conn
	id      hub.ConnID
	ident   identity
	session string

	pinger *pinger // its socket, and when the client was last heard from

	mu           sync.Mutex
	queue        []outgoing           // replies and events, in order
	pending      map[string]hub.Entry // latest presence per user, not yet written
	order        []string             // users of pending, in order of first change
	writing      bool                 // a flush goroutine runs
	lastPresence time.Time            // when the last presence frame's write began
	flushAt      *time.Timer          // armed while presence waits for its window
	closed       bool
	closeNext    closeReason // close once the queue is written; 0: none
	expires      time.Time   // when the token ends the session; zero: never
	expiry       *time.Timer // aimed at expires

	wg sync.WaitGroup // flush and close goroutines
}

// Presence queues e, replacing any unsent state of the same user.
func (c *conn) Presence(e hub.Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if c.pending == nil {
		c.pending = make(map[string]hub.Entry)
	}
	if _, ok := c.pending[e.User]; !ok {
		c.order = append(c.order, e.User)
	}
	c.pending[e.User] = e
	c.schedule(false)
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
	if sc, ok := m.(*hub.ServiceChanged); ok && !sc.Service.Enabled {
		c.mu.Lock()
		c.pending, c.order = nil, nil
		c.mu.Unlock()
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
		if !c.writing {
			c.startFlush()
		}
	default:
		c.closeLocked(closeShutdown)
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
	if !c.writing && !c.closed && (len(c.queue) > 0 || len(c.order) > 0) {
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
		queue, order, pending := c.queue, c.order, c.pending
		c.queue, c.order, c.pending = nil, nil, nil
		if c.closed || (len(queue) == 0 && len(order) == 0) {
			c.writing = false
			if c.closeNext != 0 {
				c.closeLocked(c.closeNext)
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()

		for _, o := range queue {
			if o.raw == nil {
				o.raw = encodeMessage(o.m, c.ident, c.session, c.srv.cfg.Heartbeat)
			}
			if r, ok := o.m.(*hub.Reply); ok && r.Err != nil {
				c.srv.metrics.errors.WithLabelValues(r.Err.Code).Inc()
			}
			if !c.write(o.raw) {
				return
			}
		}
		var began time.Time
		if len(order) > 0 {
			es := make([]hub.Entry, len(order))
			for i, u := range order {
				es[i] = pending[u]
			}
			began = time.Now()
			if !c.write(encodePresence(es)) {
				return
			}
			c.srv.metrics.fanoutFrames.Inc()
		}

		c.mu.Lock()
		if !began.IsZero() {
			c.lastPresence = began
		}
		if len(c.queue) == 0 && len(c.order) > 0 {
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

// write writes one frame within the write timeout. A connection that cannot
// take a frame in that time is too slow and is closed; write then reports
// false, and the flush ends.
func (c *conn) write(b []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.srv.cfg.WriteTimeout)
	defer cancel()
	err := c.ws.Write(ctx, websocket.MessageText, b)
	if err == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing = false
	if errors.Is(err, context.DeadlineExceeded) {
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
	c.queue, c.order, c.pending = nil, nil, nil
	if c.flushAt != nil {
		c.flushAt.Stop()
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

// serve runs the connection after a good hello, until it ends.
func (c *conn) serve(ctx context.Context, helloID string) {
	s := c.srv
	c.pinger.noteHeard()
	s.beats.add(c)
	if !s.cfg.Hub.Connect(hub.ConnInfo{ID: c.id, User: c.ident.ID, Admin: c.ident.Admin, RequestID: helloID}, c) {
		c.mu.Lock()
		c.closeLocked(closeShutdown)
		c.mu.Unlock()
		return
	}
	defer s.cfg.Hub.Disconnect(c.id)
	c.mu.Lock()
	c.setExpiry(c.ident.Expires)
	c.mu.Unlock()
	defer c.stopExpiry()

	limiter := rate.NewLimiter(s.cfg.RateLimit, s.cfg.RateBurst)
	var refused int
	var windowStart time.Time
	for {
		_, data, err := c.ws.Read(ctx)
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
			if refused > s.cfg.AbuseRefusals {
				c.mu.Lock()
				c.closeLocked(closeRateLimited)
				c.mu.Unlock()
				return
			}
			cmd, _ := wire.Decode(data)
			c.replyError(cmd.ID, wire.CodeRateLimited, "too many commands: slow down")
			continue
		}
		c.handle(data)
	}
}

// handle runs one client frame.
func (c *conn) handle(data []byte) {
	s := c.srv
	cmd, err := wire.Decode(data)
	if err != nil {
		we := protocolError(err)
		s.metrics.commands.WithLabelValues("invalid").Inc()
		c.replyError(cmd.ID, we.Code, we.Message)
		return
	}
	s.metrics.commands.WithLabelValues(cmd.Type).Inc()
	switch cmd.Type {
	case wire.TypePing:
		c.enqueue(outgoing{raw: wire.Encode(wire.Pong{Type: wire.TypePong, ID: cmd.ID})})
	case wire.TypeHello:
		c.replyError(cmd.ID, wire.CodeBadRequest, "already signed in: hello is the first frame only")
	case wire.TypeRefresh:
		c.refresh(cmd)
	default:
		s.cfg.Hub.Do(c.id, cmd.ID, command(cmd))
	}
}

func (c *conn) replyError(id, code, msg string) {
	c.Send(&hub.Reply{RequestID: id, Err: &hub.Error{Code: code, Message: msg}})
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
	case -1:
		c.srv.countClose(closeGone)
	default:
		c.srv.countClose(closeByClient)
	}
}
