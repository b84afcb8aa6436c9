package hub

import (
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// Status expiry. A chosen status ends at its until: the hub aims one
// deadline per user at it on the heap, and at it clears the status and
// tells everyone (reason expired).
//
// Clearing is a pure function of the record and the clock, and nothing
// writes it to the store: a record whose until has passed reads as cleared
// wherever it is loaded (at start, on a resync, from another node), and the
// next write of the user replaces it. So a status that expired while the
// server was down is gone when it starts, every node of a cluster clears it
// at the same instant without a message, and no node's write of the clear
// can land after another node's newer status.

// scheduleExpiry aims u's expiry deadline at its until (none when zero).
func (h *Hub) scheduleExpiry(u *user) { h.schedule(&u.expiry, u.rec.Until) }

// expiryDue clears u's status at its until.
func (h *Hub) expiryDue(u *user, now time.Time) {
	if h.clearExpired(u, now) {
		h.changed(u, presence.ReasonExpired, true, now)
	}
}

// clearExpired clears u's chosen status if its until has passed: manual
// back to automatic, no text, no custom status. It reports whether it did.
func (h *Hub) clearExpired(u *user, now time.Time) bool {
	if !presence.Expired(u.rec.Until, now) {
		return false
	}
	u.hold(status.Holding{Manual: presence.Online})
	return true
}

// setRecord replaces u's durable state with rec (from the store or another
// node), read as expired if its until has passed, and aims u's deadlines
// at it. It reports whether what others see of u's choice changed, and why:
// a choice made elsewhere, or its expiry.
func (h *Hub) setRecord(u *user, rec store.User, now time.Time) (bool, presence.Reason) {
	before := u.holding()
	if rec.LastSeen.Before(u.rec.LastSeen) {
		rec.LastSeen = u.rec.LastSeen // a later disconnect seen here wins
	}
	u.rec = rec
	cause := presence.ReasonManual
	if h.clearExpired(u, now) {
		cause = presence.ReasonExpired
	}
	h.follow(u)
	h.scheduleExpiry(u)
	for _, c := range u.conns {
		h.scheduleIdle(c)
	}
	return shownChanged(u.holding(), before), cause
}
