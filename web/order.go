package web

import (
	"strconv"
	"time"

	"github.com/presenced/presenced/hub"
)

// Replies go out in the order of the frames they answer, whoever answers
// them: the connection itself (pong, a refusal, a frame that did not
// decode), which could answer at once, or the hub, whose replies keep the
// order of its commands but wait for the store when one writes: without
// slots a later pong would overtake a status change waiting for its
// write. Each frame read takes a slot, the hello first; a reply fills its
// slot, and the filled slots at the head move to the outbox. The hub sees
// a command's slot number as its request id, and the client's id is put
// back on the way out, so that a client's ids, repeated or missing, need
// not be unique.

// slot is one frame waiting for its reply.
type slot struct {
	seq   uint64
	id    string // the client's id
	typ   string // the command's type, for its latency; "": not timed
	began time.Time
	reply *outgoing // nil until answered
}

// helloSeq is the hello's slot: the welcome, or the reply that refuses
// the connection, answers it.
const helloSeq = 0

// open takes the next slot for a frame with id and typ, read at began.
// It reports false, having closed the connection as too slow, when too
// many replies wait already. Holds c.mu.
func (c *conn) open(id, typ string, began time.Time) (uint64, bool) {
	if c.closed {
		return 0, false
	}
	if len(c.slots)+len(c.queue) >= c.srv.cfg.MaxQueued {
		c.closeLocked(closeTooSlow)
		return 0, false
	}
	s := &slot{seq: c.nextSeq, id: id, typ: typ, began: began}
	c.nextSeq++
	c.slots = append(c.slots, s)
	return s.seq, true
}

// answer fills slot seq with o and queues every reply that is now first in
// line. Holds c.mu.
func (c *conn) answer(seq uint64, o outgoing) {
	if c.closed || len(c.slots) == 0 || seq < c.slots[0].seq || seq-c.slots[0].seq >= uint64(len(c.slots)) {
		return // closed, or not a slot of ours
	}
	s := c.slots[seq-c.slots[0].seq]
	if s.typ != "" {
		c.srv.metrics.commandTime.WithLabelValues(s.typ).Observe(time.Since(s.began).Seconds())
	}
	if r, ok := o.m.(*hub.Reply); ok {
		r.RequestID = s.id
	}
	s.reply = &o
	n := 0
	for n < len(c.slots) && c.slots[n].reply != nil {
		c.queue = append(c.queue, *c.slots[n].reply)
		c.slots[n] = nil
		n++
	}
	c.slots = c.slots[n:]
	if n > 0 {
		c.schedule(true)
	}
}

// reply answers the frame of slot seq with m, or with raw when m is nil.
func (c *conn) reply(seq uint64, m hub.Message, raw []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answer(seq, outgoing{m: m, raw: raw})
}

// hubReply answers from the hub: the welcome, a refusal of the hello, or
// the reply to a command, whose request id is its slot number.
func (c *conn) hubReply(m hub.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seq := uint64(helloSeq)
	if r, ok := m.(*hub.Reply); ok && c.welcomed {
		n, err := strconv.ParseUint(r.RequestID, 10, 64)
		if err != nil {
			return // not a request of this connection's
		}
		seq = n
	}
	if _, ok := m.(*hub.Welcome); ok {
		c.welcomed = true
	}
	c.answer(seq, outgoing{m: m})
}

// slotID is the request id the hub echoes for slot seq.
func slotID(seq uint64) string { return strconv.FormatUint(seq, 10) }
