package hub

import (
	"context"
	"time"

	"github.com/presenced/presenced/presence"
)

// NewConnID returns a fresh connection id.
func (h *Hub) NewConnID() ConnID { return ConnID(h.nextID.Add(1)) }

// ConnInfo is who a new connection is.
type ConnInfo struct {
	ID        ConnID
	User      string
	Admin     bool
	RequestID string // the hello's id, echoed in welcome
}

// countTimeout bounds one call to the backplane's counter.
const countTimeout = time.Second

// Connect registers a connection; the hub answers through sink with a
// Welcome, or closes it. It returns false if the hub has stopped; else
// Disconnect must follow once the connection ends. With a backplane it
// first adds the connection to the workspace's count, which may wait on
// the network: the limit is judged on every node's count.
func (h *Hub) Connect(info ConnInfo, sink Sink) bool {
	n, known := h.addConns(+1)
	if !h.post(func() { h.connect(info, sink, n, known) }) {
		h.addConns(-1)
		return false
	}
	return true
}

// Disconnect forgets a connection that Connect registered and that closed
// (a close frame, a broken socket, the server stopping), and takes it out
// of the workspace's count. If it was its user's last, the user keeps their
// status for the reconnect grace. It returns false if the hub has stopped.
func (h *Hub) Disconnect(id ConnID) bool { return h.forget(id, presence.ReasonDisconnect) }

// DisconnectDead is Disconnect for a connection found dead by heartbeat:
// there is no grace, since the wait already happened.
func (h *Hub) DisconnectDead(id ConnID) bool { return h.forget(id, presence.ReasonHeartbeat) }

func (h *Hub) forget(id ConnID, cause presence.Reason) bool {
	n, known := h.addConns(-1)
	return h.post(func() { h.disconnect(id, cause, n, known) })
}

// addConns adds delta to the workspace's count through the backplane and
// returns the count, or false when there is no backplane or it failed: the
// hub then estimates, and the backplane repairs its count at its next
// heartbeat. Every +1 has its -1, counted or not, so that the repair is
// exact.
func (h *Hub) addConns(delta int) (int, bool) {
	bp := h.cfg.Backplane
	if bp == nil {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
	defer cancel()
	n, err := bp.AddConns(ctx, delta)
	if err != nil {
		h.log.Debug().Err(err).Int("delta", delta).Msg("count connections: the hub estimates until the backplane repairs it")
		return 0, false
	}
	return n, true
}

// connect registers a connection. n is the workspace's count with it, when
// known (from the backplane).
func (h *Hub) connect(info ConnInfo, sink Sink, n int, known bool) {
	now := time.Now()
	u := h.user(info.User)
	if len(u.conns) >= h.cfg.MaxConnsPerUser {
		sink.Send(&Reply{RequestID: info.RequestID, Err: errorf(CodeOverLimit,
			"%s already has %d connections, the most one user may have", info.User, len(u.conns))})
		sink.Close(CloseTooManyConns)
		h.userLimitNotice(u, now)
		return
	}
	c := &conn{id: info.ID, user: u, admin: info.Admin, sink: sink, lastActive: now}
	c.idle = connDeadline(c)
	u.conns[c.id] = c
	u.online++
	h.changed(u, presence.ReasonConnect, false, now)
	// The limit is judged before c joins h.conns, so that a service event
	// does not reach it: the connection that trips the limit learns it
	// from its welcome, and then gets the admins' notices like the others.
	if !known {
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

// disconnect forgets a connection that ended for cause (ReasonDisconnect:
// it closed; ReasonHeartbeat: it was dead). n is the workspace's count
// without it, when known (from the backplane).
func (h *Hub) disconnect(id ConnID, cause presence.Reason, n int, known bool) {
	if known {
		h.clusterCount = n
	}
	c := h.conns[id]
	if c == nil {
		return // refused at connect, said bye, or already gone
	}
	h.leave(c, cause, cause == presence.ReasonDisconnect, time.Now())
}

// leave removes c from the live state. If it was its user's last
// connection, the user is held for the grace when grace says so, else their
// status changes now.
func (h *Hub) leave(c *conn, cause presence.Reason, grace bool, now time.Time) {
	u := c.user
	h.schedule(&c.idle, time.Time{})
	delete(h.conns, c.id)
	delete(u.conns, c.id)
	if !c.away {
		u.online--
	}
	h.unsubscribeAll(c)
	if !u.live().Live() {
		u.rec.LastSeen = now
		h.writer.putUser(u.rec)
		if grace && h.cfg.OfflineGrace > 0 {
			h.hold(u, u.seen, true, now)
			h.countFell()
			return
		}
	}
	h.changed(u, cause, false, now)
	h.countFell()
}

// activity: the connection is in use, so it is online again and its idle
// deadline moves.
func (h *Hub) activity(c *conn, now time.Time) (Result, *Error) {
	c.lastActive = now
	if c.away {
		h.setConnAway(c, false, now)
	}
	if !c.idle.pending() {
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
	cause := presence.ReasonActive
	if away {
		cause = presence.ReasonIdle
	}
	h.changed(c.user, cause, false, now)
}
