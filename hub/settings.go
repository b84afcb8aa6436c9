package hub

import (
	"context"
	"time"
)

// pickIdleLimit decides, at load, between the configured idle limit and the
// one an admin saved, and says which won when they differ: an operator who
// sees a limit they did not set needs to know where it came from.
func (h *Hub) pickIdleLimit() {
	saved, def := h.settings.IdleLimit, h.cfg.IdleLimit
	switch {
	case saved <= 0 || saved == def:
	case h.cfg.IdleLimitExplicit:
		// In memory only: the saved setting stays for a run without the flag.
		h.settings.IdleLimit = def
		h.log.Info().Stringer("idle_limit", def).Stringer("saved_idle_limit", saved).
			Msg("idle limit: the one given at start-up wins over the one an admin saved")
	default:
		h.log.Info().Stringer("idle_limit", saved).Stringer("default_idle_limit", def).
			Msg("idle limit: the one an admin saved is used instead of the default (give -idle-limit to override it)")
	}
}

// workspaceIdleLimit is the idle limit of users with no preference.
func (h *Hub) workspaceIdleLimit() time.Duration {
	if h.settings.IdleLimit > 0 {
		return h.settings.IdleLimit
	}
	return h.cfg.IdleLimit
}

// WorkspaceIdleLimit returns the workspace's idle limit now, or false if
// the hub has stopped or ctx ends first.
func (h *Hub) WorkspaceIdleLimit(ctx context.Context) (time.Duration, bool) {
	ch := make(chan time.Duration, 1)
	if !h.post(func() { ch <- h.workspaceIdleLimit() }) {
		return 0, false
	}
	select {
	case d := <-ch:
		return d, true
	case <-ctx.Done():
		return 0, false
	case <-h.done:
		return 0, false
	}
}
