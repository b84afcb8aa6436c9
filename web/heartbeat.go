package web

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presenced/presenced/presence"
)

// Heartbeats cost the idle connections of a node all of its idle CPU, so
// they are made cheap: one goroutine (heartbeats) pings every connection
// from a timing wheel, skipping those heard from lately; a ping is two
// bytes written between two of coder/websocket's frames, and its pong is
// taken out of the stream before coder/websocket reads it (pinger). There
// is no goroutine, context, timer or allocation per ping: coder/websocket's
// Ping would cost all of them and wait for the pong on top, and its read
// of a pong a context and a timer more.

// wheelTicks is how many ticks a heartbeat has (at least 1 ms each): a
// connection is looked at within a tick of when it is due, and the pings
// of a heartbeat are spread over its ticks. Too few, and a tick's burst
// of pings and pongs delays everything else (at 19,800 connections, 10
// ticks put 58 ms in the p99 of presence latency, 100 ticks 48 ms); the
// more ticks, the fewer pongs share a wake-up (1,000 ticks idled at 6.1 %
// of a core, 300 at 4.1 % with the same latency). docs/performance.md has
// the figures.
const wheelTicks = 300

// pingTimeout bounds a ping's write. A socket that cannot take two bytes
// at once is full: its peer has stopped reading, and the ping is tried
// again at the next tick rather than waited for.
const pingTimeout = time.Millisecond

// heartbeats pings connections from a wheel of slots one tick apart. A
// connection is in exactly one slot, the one of its next beat; a
// connection that ended is dropped when its slot comes up. Its goroutine
// runs while there are connections, or until stop.
type heartbeats struct {
	interval time.Duration
	tick     time.Duration

	mu      sync.Mutex
	slots   [][]*conn // a tick each, one more than the longest wait
	next    int       // the slot of the next tick
	filed   int       // connections in slots
	running bool
	quit    chan struct{}
	done    chan struct{}

	// Owned by the wheel's goroutine: the slot being beaten, and where
	// its connections go next.
	beating []*conn
	refile  []refiled
}

type refiled struct {
	c     *conn
	ticks int
}

func newHeartbeats(interval time.Duration) *heartbeats {
	tick := max(interval/wheelTicks, time.Millisecond)
	return &heartbeats{interval: interval, tick: tick, slots: make([][]*conn, (interval+tick-1)/tick+1)}
}

// add files c for a beat one interval from now.
func (h *heartbeats) add(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.file(c, h.ticksFor(h.interval))
	if !h.running {
		h.running = true
		h.quit, h.done = make(chan struct{}), make(chan struct{})
		go h.run(h.quit, h.done)
	}
}

// stop ends the goroutine, forgets every connection and waits; a later
// add starts again.
func (h *heartbeats) stop() {
	h.mu.Lock()
	if h.running {
		close(h.quit)
	}
	done := h.done // also the last goroutine's, if it ended by itself
	h.mu.Unlock()
	if done != nil {
		<-done
	}
}

// ticksFor is how many ticks from now a beat d from now is, to the
// nearest tick (a tick that does not divide the interval would otherwise
// make every beat a tick late): at least one, at most one interval's.
func (h *heartbeats) ticksFor(d time.Duration) int {
	return min(max(int((d+h.tick/2)/h.tick), 1), len(h.slots)-1)
}

// file puts c ticks ahead of the next tick's slot. Holds h.mu.
func (h *heartbeats) file(c *conn, ticks int) {
	i := (h.next + ticks - 1) % len(h.slots)
	h.slots[i] = append(h.slots[i], c)
	h.filed++
}

func (h *heartbeats) run(quit, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(h.tick)
	defer t.Stop()
	for {
		select {
		case <-quit:
			h.mu.Lock()
			h.running = false
			for i := range h.slots {
				clear(h.slots[i])
				h.slots[i] = h.slots[i][:0]
			}
			h.filed = 0
			h.mu.Unlock()
			return
		case now := <-t.C:
			if !h.beat(now) {
				return
			}
		}
	}
}

// beat beats the connections of the next slot and files each for its next
// beat. It reports false, and the goroutine ends, when none is left.
func (h *heartbeats) beat(now time.Time) bool {
	h.mu.Lock()
	i := h.next
	h.next = (h.next + 1) % len(h.slots)
	// Swap the slot for the empty slice of the round before, so that
	// add files into it while this round pings.
	h.beating, h.slots[i] = h.slots[i], h.beating[:0]
	h.filed -= len(h.beating)
	h.mu.Unlock()

	h.refile = h.refile[:0]
	for _, c := range h.beating {
		if d := c.beat(now, h.interval, h.tick); d > 0 {
			h.refile = append(h.refile, refiled{c, h.ticksFor(d)})
		}
	}
	clear(h.beating) // no ended connection stays reachable from here

	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.refile {
		// The slot after this tick's is now the next one: one tick
		// ahead of it is ticks ahead of now.
		h.file(r.c, r.ticks)
	}
	clear(h.refile)
	if h.filed == 0 {
		h.running = false
		return false
	}
	return true
}

// beat runs at c's heartbeat: it closes c if it has been silent for 2.5
// intervals, pings it unless it was heard from within about one, and says
// how long until its next beat (0: c has ended).
func (c *conn) beat(now time.Time, interval, tick time.Duration) time.Duration {
	heard := c.pinger.lastHeard()
	dead := presence.DeadAt(heard, interval)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0
	}
	if !now.Before(dead) {
		c.closed = true
		c.dead = true
		c.srv.countClose(closeDead)
		c.mu.Unlock()
		c.ws.CloseNow() // the peer is gone: no close handshake to wait for
		return 0
	}
	c.mu.Unlock()
	if silent := now.Sub(heard); silent < interval-tick {
		return interval - silent
	}
	switch err := c.pinger.ping(); {
	case err == nil:
		return min(interval, dead.Sub(now))
	case errors.Is(err, errPingBusy):
		return tick
	default: // half a ping went out: the stream is lost
		c.mu.Lock()
		c.closeLocked(closeTooSlow)
		c.mu.Unlock()
		return 0
	}
}

// errPingBusy says a ping could not go out now: a frame is being
// written, or the socket is full.
var errPingBusy = errors.New("ping: the connection is busy")

// pingFrame is a ping with no payload (RFC 6455 5.5.2), as a server sends
// it: unmasked.
var pingFrame = [2]byte{0x89, 0x00}

// pongStart is the first byte of a pong frame: FIN and opcode 0xA.
const pongStart = 0x8a

// maxControlPayload is the longest payload of a control frame (RFC 6455
// 5.5).
const maxControlPayload = 125

// pinger is the socket under an upgraded connection's buffers. It passes
// coder/websocket's writes through and follows the frame headers in them,
// so that it knows when the stream is between two frames, which is where
// ping puts its frame; and it passes the client's frames to
// coder/websocket's reads except pongs, which only say that the client is
// alive. It keeps when the client was last heard from.
type pinger struct {
	net.Conn // the hijacked connection

	heard atomic.Int64 // unix nanoseconds of the last frame or pong

	mu       sync.Mutex
	out      frameScan // where the server's stream is
	broken   error     // a ping was cut short: every write fails
	deadline time.Time // the writer's, for the frame it writes (zero: none)

	// Owned by the read loop's reads.
	src  io.Reader // the client's bytes: nc, after any the hijack had read
	in   frameScan // where the client's stream is
	drop bool      // the frame being read is a pong
}

func (p *pinger) noteHeard()           { p.heard.Store(time.Now().UnixNano()) }
func (p *pinger) lastHeard() time.Time { return time.Unix(0, p.heard.Load()) }

// Write writes b to the socket, noting where frames end.
func (p *pinger) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken != nil {
		return 0, p.broken
	}
	n, err := p.Conn.Write(b)
	p.out.follow(b[:n])
	return n, err
}

// setWriteDeadline sets the deadline of the writer's frames on the
// socket; ping puts it back after its own. The writer sets it around each
// frame in place of a context: coder/websocket, given a context that can
// end, arms a callback for it on every write.
func (p *pinger) setWriteDeadline(t time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deadline = t
	return p.Conn.SetWriteDeadline(t)
}

// ping writes a ping frame if the stream is between frames and the socket
// takes it at once; errPingBusy if not, and nothing was written. Any other
// error means part of the frame went out: the connection is lost.
func (p *pinger) ping() error {
	if !p.mu.TryLock() {
		return errPingBusy // a write is under way
	}
	defer p.mu.Unlock()
	if p.broken != nil {
		return p.broken
	}
	if !p.out.between() {
		return errPingBusy // between two writes of one frame
	}
	p.Conn.SetWriteDeadline(time.Now().Add(pingTimeout))
	n, err := p.Conn.Write(pingFrame[:])
	p.Conn.SetWriteDeadline(p.deadline)
	switch {
	case err == nil:
		return nil
	case n == 0:
		return errPingBusy
	default:
		p.broken = fmt.Errorf("ping: %d of %d bytes written: %w", n, len(pingFrame), err)
		return p.broken
	}
}

// Read reads the client's frames for coder/websocket, leaving out pongs.
// A pong longer than a control frame may be is an error that ends the
// connection, as coder/websocket would end it.
func (p *pinger) Read(b []byte) (int, error) {
	for {
		n, err := p.src.Read(b)
		n, serr := p.strip(b[:n])
		if serr != nil {
			return n, serr
		}
		if n > 0 || err != nil {
			return n, err
		}
		// Nothing but pong: read on, rather than return nothing.
	}
}

// strip takes the pongs out of b, in place, and says how many bytes are
// left. The read loop only: no lock.
func (p *pinger) strip(b []byte) (int, error) {
	f, w := &p.in, 0
	for i := 0; i < len(b); {
		if f.rest > 0 {
			k := int(min(uint64(len(b)-i), f.rest))
			if !p.drop {
				w += copy(b[w:], b[i:i+k])
			}
			f.rest -= uint64(k)
			i += k
			continue
		}
		c := b[i]
		i++
		if f.hdrLen == 0 {
			p.drop = c == pongStart
		}
		if !p.drop {
			b[w] = c
			w++
		}
		f.hdr[f.hdrLen] = c
		f.hdrLen++
		if f.hdrLen < 2 || f.hdrLen < headerLen(f.hdr[1]) {
			continue
		}
		f.rest = payloadLen(f.hdr[:f.hdrLen])
		f.hdrLen = 0
		if p.drop { // a whole header: the pong is here
			if f.rest > maxControlPayload {
				return w, fmt.Errorf("read: a pong of %d bytes, past the %d of a control frame", f.rest, maxControlPayload)
			}
			p.noteHeard()
		}
	}
	return w, nil
}

// frameScan follows a stream of frames, byte by byte through headers.
type frameScan struct {
	hdr    [14]byte // the current frame's header, so far
	hdrLen int      // bytes of hdr seen; 0 between frames and in payloads
	rest   uint64   // payload bytes of the current frame still to come
}

// between reports whether the stream is between two frames.
func (f *frameScan) between() bool { return f.hdrLen == 0 && f.rest == 0 }

// follow moves f over b.
func (f *frameScan) follow(b []byte) {
	for len(b) > 0 {
		if f.rest > 0 {
			k := min(uint64(len(b)), f.rest)
			f.rest -= k
			b = b[k:]
			continue
		}
		f.hdr[f.hdrLen] = b[0]
		f.hdrLen++
		b = b[1:]
		if f.hdrLen >= 2 && f.hdrLen == headerLen(f.hdr[1]) {
			f.rest = payloadLen(f.hdr[:f.hdrLen])
			f.hdrLen = 0
		}
	}
}

// headerLen is the length of a frame header whose second byte is b1.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4 // a masking key
	}
	return n
}

// payloadLen is the payload length a complete frame header gives.
func payloadLen(h []byte) uint64 {
	switch n := h[1] & 0x7f; n {
	case 126:
		return uint64(h[2])<<8 | uint64(h[3])
	case 127:
		var v uint64
		for _, x := range h[2:10] {
			v = v<<8 | uint64(x)
		}
		return v
	default:
		return uint64(n)
	}
}
