package hub

import (
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
)

// setStatus sets the user's manual status and text (set_status), until
// the lifetime asked, if any.
func (h *Hub) setStatus(u *user, cmd SetStatus, now time.Time, r reply) {
	until, err := cmd.Lifetime.End(now, 0)
	if err != nil {
		r.send(nil, errorf(CodeBadRequest, "%s", err))
		return
	}
	h.setHolding(u, status.Holding{Manual: cmd.Manual, Text: cmd.Text, Until: until}, now, r)
}

// setCustomStatus gives the user a custom status (set_custom_status), until
// the lifetime asked, else for the status's default duration, if any.
func (h *Hub) setCustomStatus(u *user, cmd SetCustomStatus, now time.Time, r reply) {
	cs, ok := h.catalog.Get(cmd.Custom)
	if !ok {
		r.send(nil, errorf(CodeNotFound, "no custom status has id %q", cmd.Custom))
		return
	}
	until, err := cmd.Lifetime.End(now, cs.Duration)
	if err != nil {
		r.send(nil, errorf(CodeBadRequest, "%s", err))
		return
	}
	h.setHolding(u, status.Holding{Manual: cs.Presence, Text: cs.Name, Custom: cs.ID, Until: until}, now, r)
}

// setPrefs changes the user's idle preferences (set_prefs). Like a status,
// it is refused while the store is known to be down, and answered once
// saved.
func (h *Hub) setPrefs(u *user, cmd SetPrefs, r reply) {
	if !h.Healthy() {
		r.send(nil, errUnavailable())
		return
	}
	if cmd.IdleLimit != nil {
		u.rec.IdleLimit = *cmd.IdleLimit
	}
	if cmd.AutoAway != nil {
		u.rec.AutoAway = *cmd.AutoAway
	}
	h.writer.putUserAck(u.rec, savedAck{r, PrefsResult{Self: h.self(u), IdleLimit: u.rec.IdleLimit, AutoAway: u.rec.AutoAway}})
	h.publishUser(u)
	for _, uc := range u.conns {
		h.scheduleIdle(uc)
	}
}

// savedAck is an answer waiting for a user's record to be saved: result
// once it is, or unavailable if the write failed. The change stays in
// memory and is retried, but it is not saved, and the client is told so.
// A value rather than a closure: one waits for every status change.
type savedAck struct {
	r      reply
	result Result
}

// done answers with the outcome err of the write.
func (a savedAck) done(err error) {
	if err != nil {
		a.r.send(nil, errNotSaved())
		return
	}
	a.r.send(a.result, nil)
}

func errNotSaved() *Error {
	return errorf(CodeUnavailable, "the store did not take this change, so it is not saved: it holds on this node and is retried, but may be lost if the node stops first; try again shortly")
}

func errUnavailable() *Error {
	return errorf(CodeUnavailable, "the store is unreachable, so this change could not be saved; try again shortly")
}

// setHolding gives u a new chosen status. It is refused while the store is
// known to be down; otherwise it applies at once (subscribers see it) and
// is answered once saved, so that a success always means a saved change.
func (h *Hub) setHolding(u *user, hd status.Holding, now time.Time, r reply) {
	if !h.Healthy() {
		r.send(nil, errUnavailable())
		return
	}
	holdingChanged := shownChanged(hd, u.holding())
	u.hold(hd)
	h.scheduleExpiry(u)
	h.changed(u, presence.ReasonManual, holdingChanged, now)
	h.writer.putUserAck(u.rec, savedAck{r, SelfResult{Self: h.self(u)}})
	h.publishUser(u)
}
