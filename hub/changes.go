package hub

import (
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
)

// ChangeSink is told every change the workspace sees, for outbound
// webhooks and the like. The hub calls it on its goroutine: its methods must
// not block (take the change into a queue of your own and return). In a
// cluster every node's hub sees every change, so every node's sink is told.
type ChangeSink interface {
	// OnPresence: what others see of a user changed: their effective
	// status, text, custom status or until. A change the reconnect grace
	// hides is never told, and none while the service is disabled.
	OnPresence(PresenceChange)
	// OnService: the presence service was switched on or off.
	OnService(ServiceChange)
	// OnCatalog: a custom status was created, updated or deleted.
	OnCatalog(CatalogChange)
}

// PresenceChange is one change of what others see of a user.
type PresenceChange struct {
	User     string
	Status   presence.Status // effective, now
	Previous presence.Status // effective, before (the same when only text, custom or until changed)
	Text     string
	Custom   string    // "" when none
	Until    time.Time // zero: never expires
	Reason   presence.Reason
	At       time.Time
}

// ServiceChange is a switch of the presence service.
type ServiceChange struct {
	Enabled bool
	Reason  string // ReasonConnectionLimit or ReasonAdmin when disabled
	At      time.Time
}

// CatalogChange is a change of a custom status.
type CatalogChange struct {
	Op     CatalogOp
	Status status.Custom
	At     time.Time
}

// presenceChanged tells the sink that what others see of u changed; prev
// is u's status before.
func (h *Hub) presenceChanged(u *user, prev presence.Status, now time.Time) {
	if h.cfg.Changes == nil || !h.service.Enabled {
		return
	}
	h.cfg.Changes.OnPresence(PresenceChange{User: u.id, Status: u.status, Previous: prev, Text: u.rec.Text,
		Custom: u.rec.Custom, Until: u.rec.Until, Reason: u.reason, At: now})
}
