package hub

import (
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
)

// setStatus sets the user's manual status and text (set_status), until
// the lifetime asked, if any.
func (h *Hub) setStatus(u *user, cmd SetStatus, now time.Time) (Result, *Error) {
	until, err := cmd.Lifetime.End(now, 0)
	if err != nil {
		return nil, errorf(CodeBadRequest, "%s", err)
	}
	return h.setHolding(u, status.Holding{Manual: cmd.Manual, Text: cmd.Text, Until: until}, now)
}

// setCustomStatus gives the user a custom status (set_custom_status), until
// the lifetime asked, else for the status's default duration, if any.
func (h *Hub) setCustomStatus(u *user, cmd SetCustomStatus, now time.Time) (Result, *Error) {
	cs, ok := h.catalog.Get(cmd.Custom)
	if !ok {
		return nil, errorf(CodeNotFound, "no custom status has id %q", cmd.Custom)
	}
	until, err := cmd.Lifetime.End(now, cs.Duration)
	if err != nil {
		return nil, errorf(CodeBadRequest, "%s", err)
	}
	return h.setHolding(u, status.Holding{Manual: cs.Presence, Text: cs.Name, Custom: cs.ID, Until: until}, now)
}

// setPrefs changes the user's idle preferences (set_prefs). Like a status,
// it is refused while the store is known to be down.
func (h *Hub) setPrefs(u *user, cmd SetPrefs) (Result, *Error) {
	if !h.Healthy() {
		return nil, errUnavailable()
	}
	if cmd.IdleLimit != nil {
		u.rec.IdleLimit = *cmd.IdleLimit
	}
	if cmd.AutoAway != nil {
		u.rec.AutoAway = *cmd.AutoAway
	}
	h.writer.putUser(u.rec)
	h.publish(UserChanged{User: u.rec})
	for _, uc := range u.conns {
		h.scheduleIdle(uc)
	}
	return PrefsResult{Self: h.self(u), IdleLimit: u.rec.IdleLimit, AutoAway: u.rec.AutoAway}, nil
}

func errUnavailable() *Error {
	return errorf(CodeUnavailable, "the store is unreachable, so this change could not be saved; try again shortly")
}

// setHolding gives u a new chosen status. It is refused while the store is
// known to be down, so that a success always means a saved change.
func (h *Hub) setHolding(u *user, hd status.Holding, now time.Time) (Result, *Error) {
	if !h.Healthy() {
		return nil, errUnavailable()
	}
	holdingChanged := shownChanged(hd, u.holding())
	u.hold(hd)
	h.writer.putUser(u.rec)
	h.publish(UserChanged{User: u.rec})
	h.scheduleExpiry(u)
	h.changed(u, presence.ReasonManual, holdingChanged, now)
	return SelfResult{Self: h.self(u)}, nil
}
