package hub

import (
	"container/heap"
	"time"
)

// NewConnID returns a fresh connection id.
func (h *Hub) NewConnID() ConnID { return ConnID(h.nextID.Add(1)) }

// ConnInfo is who a new connection is.
type ConnInfo struct {
	ID        ConnID
	User      string
	Admin     bool
	RequestID string // the hello's id, echoed in welcome
	// Count is the workspace's connection count with this one, when a
	// backplane counts every node's; 0: unknown, the hub's own estimate.
	Count int
}

// Connect registers a connection; the hub answers through sink with a
// Welcome, or closes it. It returns false if the hub has stopped.
func (h *Hub) Connect(info ConnInfo, sink Sink) bool {
	return h.post(func() { h.connect(info, sink) })
}

// Disconnect forgets a connection. It returns false if the hub has stopped.
func (h *Hub) Disconnect(id ConnID) bool {
	return h.post(func() { h.disconnect(id) })
}

func (h *Hub) connect(info ConnInfo, sink Sink) {
	now := time.Now()
	u := h.user(info.User)
	if len(u.conns) >= h.cfg.MaxConnsPerUser {
		sink.Send(&Reply{RequestID: info.RequestID, Err: errorf(CodeOverLimit,
			"%s already has %d connections, the most one user may have", info.User, len(u.conns))})
		sink.Close(CloseTooManyConns)
		return
	}
	c := &conn{id: info.ID, user: u, admin: info.Admin, sink: sink, lastActive: now, heapIndex: -1}
	u.conns[c.id] = c
	u.online++
	h.changed(u, false, now)
	// The limit is judged before c joins h.conns, so that a service event
	// does not reach it: the connection that trips the limit learns it
	// from its welcome, and then gets the admins' notices like the others.
	n := info.Count
	if n <= 0 {
		n = h.count() + 1
	}
	h.clusterCount = n
	notices := h.countRose(n, now)
	h.conns[c.id] = c
	sink.Send(&Welcome{RequestID: info.RequestID, Service: h.serviceNow(), Self: h.self(u),
		Statuses: h.catalog.All(), IdleLimit: h.idleLimit(u)})
	if c.admin {
		for _, n := range notices {
			sink.Send(n)
		}
	}
	h.scheduleIdle(c)
}

func (h *Hub) disconnect(id ConnID) {
	c := h.conns[id]
	if c == nil {
		return // refused at connect, or already gone
	}
	now := time.Now()
	u := c.user
	if c.heapIndex >= 0 {
		heap.Remove(&h.idle, c.heapIndex)
	}
	delete(h.conns, id)
	delete(u.conns, id)
	if !c.away {
		u.online--
	}
	h.unsubscribeAll(c)
	if !u.live().Live() {
		u.rec.LastSeen = now
		h.writer.putUser(u.rec)
	}
	h.changed(u, false, now)
	h.countFell()
}

// activity: the connection is in use, so it is online again and its idle
// deadline moves.
func (h *Hub) activity(c *conn, now time.Time) (Result, *Error) {
	c.lastActive = now
	if c.away {
		h.setConnAway(c, false, now)
	}
	if c.heapIndex < 0 {
		h.scheduleIdle(c)
	}
	return nil, nil
}

// goIdle: the client says the connection is idle, so it is away now.
func (h *Hub) goIdle(c *conn, now time.Time) (Result, *Error) {
	h.setConnAway(c, true, now)
	h.scheduleIdle(c)
	return nil, nil
}

func (h *Hub) setConnAway(c *conn, away bool, now time.Time) {
	if c.away == away {
		return
	}
	c.away = away
	if away {
		c.user.online--
	} else {
		c.user.online++
	}
	h.changed(c.user, false, now)
}
