package hub

import (
	"time"

	"github.com/presenced/presenced/presence"
)

// The reconnect grace. A user whose last connection closes is held: their
// status is computed from the connections they had (present), one deadline
// on the heap marks the end, and nothing is told to anyone. A connection of
// theirs on any node before then releases them with nothing changed; at
// the deadline they go offline. The node where the connections were goes
// on publishing them to the others until then (toTell), so that the other
// nodes hold the user too; a node that stops cleanly hands its users'
// grace to the others (NodeGone.Clean).

// hold keeps u's status for the grace, computed from conns. here says they
// were this node's connections.
func (h *Hub) hold(u *user, conns presence.Conns, here bool, now time.Time) {
	u.held, u.heldHere = conns, here
	h.schedule(&u.grace, presence.OfflineAt(now, h.cfg.OfflineGrace))
}

// release ends u's grace early: u is connected again somewhere.
func (h *Hub) release(u *user) {
	h.schedule(&u.grace, time.Time{})
	u.held, u.heldHere = presence.Conns{}, false
}

// graceEnded: u did not come back in time, and reads offline now.
func (h *Hub) graceEnded(u *user, now time.Time) {
	u.held, u.heldHere = presence.Conns{}, false
	h.changed(u, presence.ReasonDisconnect, false, now)
}

// toTell is what this node tells the others of u's connections: its own,
// or while it holds u in a grace, the ones u had here.
func (u *user) toTell() presence.Conns {
	if c := u.local(); c.Live() || !u.heldHere || !u.grace.pending() {
		return c
	}
	return u.held
}

// bye ends c at its user's request, without the grace: if c was their last
// connection they read offline at once. The reply goes out before the
// connection closes.
func (h *Hub) bye(c *conn, r reply, now time.Time) {
	r.send(nil, nil)
	c.sink.Close(CloseBye)
	h.leave(c, presence.ReasonDisconnect, false, now)
}

// signOut ends every connection of u here, and tells the other nodes to do
// the same, without the grace: u reads offline at once.
func (h *Hub) signOut(u *user, now time.Time) (Result, *Error) {
	h.publish(SignedOut{User: u.id})
	h.signOutHere(u, now)
	return nil, nil
}

func (h *Hub) signOutHere(u *user, now time.Time) {
	for _, c := range u.conns {
		c.sink.Close(CloseSignedOut)
		h.leave(c, presence.ReasonDisconnect, false, now)
	}
	if u.grace.pending() {
		h.release(u)
		h.changed(u, presence.ReasonDisconnect, false, now)
	}
}

// nodeGone drops node's connections. A node that stopped cleanly (clean)
// hands its users' grace to this node: those not connected elsewhere are
// held. A node that died gets none: the node TTL was the wait.
func (h *Hub) nodeGone(node string, clean bool, now time.Time) {
	for _, u := range h.users {
		if _, ok := u.remote[node]; !ok {
			continue
		}
		if !clean || h.cfg.OfflineGrace <= 0 {
			h.setRemote(u, node, presence.Conns{}, presence.ReasonNodeLost, now)
			continue
		}
		delete(u.remote, node)
		if u.live().Live() {
			h.changed(u, presence.ReasonDisconnect, false, now)
			continue
		}
		u.rec.LastSeen = now
		h.hold(u, u.seen, false, now)
	}
}
