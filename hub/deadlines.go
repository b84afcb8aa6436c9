package hub

import (
	"container/heap"
	"time"

	"github.com/presenced/presenced/presence"
)

// deadlineKind is what happens when a deadline comes.
type deadlineKind uint8

const (
	idleDeadline   deadlineKind = iota + 1 // a connection goes away
	graceDeadline                          // a user's reconnect grace ends
	expiryDeadline                         // a user's chosen status expires
)

// deadline is one entry of the hub's deadline heap. It lives inside its
// connection or user, so that scheduling allocates nothing, and the hub
// has one timer for all of them, aimed at the earliest.
type deadline struct {
	at    time.Time // zero: not scheduled
	index int       // in the heap; -1 when not in it
	kind  deadlineKind
	conn  *conn // idleDeadline
	user  *user // graceDeadline, expiryDeadline
}

func connDeadline(c *conn) deadline { return deadline{index: -1, kind: idleDeadline, conn: c} }
func userDeadline(u *user, kind deadlineKind) deadline {
	return deadline{index: -1, kind: kind, user: u}
}

// pending reports whether d is scheduled.
func (d *deadline) pending() bool { return d.index >= 0 }

// deadlines is a min-heap of deadlines by time.
type deadlines []*deadline

func (q deadlines) Len() int           { return len(q) }
func (q deadlines) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q deadlines) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *deadlines) Push(x any) { d := x.(*deadline); d.index = len(*q); *q = append(*q, d) }
func (q *deadlines) Pop() any {
	old := *q
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	d.index = -1
	return d
}

// schedule (re)places d at at; the zero at takes it off the heap.
func (h *Hub) schedule(d *deadline, at time.Time) {
	d.at = at
	switch {
	case at.IsZero() && d.pending():
		heap.Remove(&h.deadlines, d.index)
	case at.IsZero():
	case d.pending():
		heap.Fix(&h.deadlines, d.index)
	default:
		heap.Push(&h.deadlines, d)
	}
}

// armTimer aims t at the earliest deadline, unless it is aimed there
// already (armed): most commands leave it, and a timer reset per command
// costs more than the command. It returns where t is aimed.
func (h *Hub) armTimer(t *time.Timer, armed time.Time) time.Time {
	var next time.Time
	if len(h.deadlines) > 0 {
		next = h.deadlines[0].at
	}
	if next.Equal(armed) {
		return armed
	}
	if next.IsZero() {
		t.Stop()
	} else {
		t.Reset(time.Until(next))
	}
	return next
}

// expire runs every deadline that has come.
func (h *Hub) expire(now time.Time) {
	for len(h.deadlines) > 0 && !h.deadlines[0].at.After(now) {
		d := heap.Pop(&h.deadlines).(*deadline)
		d.at = time.Time{}
		switch d.kind {
		case idleDeadline:
			h.idleDue(d.conn, now)
		case graceDeadline:
			h.graceEnded(d.user, now)
		case expiryDeadline:
			h.expiryDue(d.user, now)
		}
	}
}

// idleDue turns c away, unless it was active since its deadline was set.
// Activity does not move a connection in the heap (that would cost a heap
// fix per command); a connection found active since is put back at its
// real deadline instead.
func (h *Hub) idleDue(c *conn, now time.Time) {
	if at := presence.IdleAt(c.lastActive, h.idleLimit(c.user)); at.After(now) {
		h.schedule(&c.idle, at)
		return
	}
	h.setConnAway(c, true, now)
}

// scheduleIdle (re)places c's idle deadline at its current value.
func (h *Hub) scheduleIdle(c *conn) {
	at := time.Time{}
	if !c.away && c.user.rec.AutoAway {
		at = presence.IdleAt(c.lastActive, h.idleLimit(c.user))
	}
	h.schedule(&c.idle, at)
}
