package hub

import (
	"context"
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// Backplane links the hubs of several nodes that share one workspace. The
// hub tells it what changed here; it tells the hub, through Apply, what
// changed elsewhere, and CountChanged when its periodic recount finds the
// workspace's connection count. The count itself is the hub's to keep:
// it adds and removes each connection through AddConns.
type Backplane interface {
	// Publish tells the other nodes about ev. It is called from the hub
	// goroutine and must not block.
	Publish(ev ClusterEvent)
	// AddConns adds delta to this node's connection count and returns
	// the workspace's, every node's, with it. It is called from Connect
	// (+1) and Disconnect (-1), outside the hub goroutine, and may block.
	// A call that fails still counts: the backplane keeps this node's
	// count right in the end, the hub only needs it fast.
	AddConns(ctx context.Context, delta int) (int, error)
	// Count returns the workspace's connection count now, every node's.
	// It is called outside the hub goroutine and may block.
	Count(ctx context.Context) (int, error)
}

// ClusterEvent is a change that crosses nodes: one of the types below.
type ClusterEvent interface{ clusterEvent() }

// The cluster events. The hub publishes ConnsChanged (Node empty: this
// node), UserChanged, CatalogChanged, ServiceSwitched, SettingsChanged and
// SignedOut;
// the backplane applies those of other nodes, and NodeGone, NodeSnapshot,
// CountChanged and Resync.
type (
	// ConnsChanged: Node now holds Conns of User's connections, because
	// of Reason (connect, disconnect, heartbeat, idle, active; NoReason
	// from an older node).
	ConnsChanged struct {
		Node   string
		User   string
		Conns  presence.Conns
		Reason presence.Reason
	}
	// UserChanged: a user's chosen status or preferences changed.
	UserChanged struct{ User store.User }
	// CatalogChanged: an admin created, updated or deleted a custom status.
	CatalogChanged struct {
		Op     CatalogOp
		Status status.Custom
	}
	// ServiceSwitched: the service was turned on or off.
	ServiceSwitched struct{ Service store.Service }
	// SettingsChanged: an admin changed the workspace settings.
	SettingsChanged struct{ Settings store.Settings }
	// NodeGone: Node died or left; its connections are gone. Clean says
	// it stopped cleanly: its users then get the reconnect grace here.
	NodeGone struct {
		Node  string
		Clean bool
	}
	// SignedOut: User was signed out on another node; their connections
	// here end too.
	SignedOut struct{ User string }
	// NodeSnapshot replaces all that is known of Node's connections.
	NodeSnapshot struct {
		Node  string
		Users map[string]presence.Conns
	}
	// CountChanged is the workspace's connection count, every node's.
	CountChanged struct{ Count int }
	// Resync replaces the durable state with the store's, after messages
	// may have been lost.
	Resync struct {
		Statuses []status.Custom
		Users    []store.User
		Service  store.Service
		Settings store.Settings
		Nodes    []string // the live nodes: others' connections are dropped
	}
)

func (ConnsChanged) clusterEvent()    {}
func (UserChanged) clusterEvent()     {}
func (CatalogChanged) clusterEvent()  {}
func (ServiceSwitched) clusterEvent() {}
func (SettingsChanged) clusterEvent() {}
func (NodeGone) clusterEvent()        {}
func (SignedOut) clusterEvent()       {}
func (NodeSnapshot) clusterEvent()    {}
func (CountChanged) clusterEvent()    {}
func (Resync) clusterEvent()          {}

// Apply applies changes from another node, in order, in one pass of the
// hub's loop: a message of 500 changes takes one place in the inbox, not
// 500, so that a busy inbox (a connect burst) does not hold up the
// backplane's reader. It returns false if the hub has stopped.
func (h *Hub) Apply(evs ...ClusterEvent) bool {
	return h.post(func() {
		for _, ev := range evs {
			h.apply(ev)
		}
	})
}

// LocalConns returns this node's connections by user, for the backplane to
// publish in full. It returns false if the hub stopped or ctx ended first.
func (h *Hub) LocalConns(ctx context.Context) (map[string]presence.Conns, int, bool) {
	type snap struct {
		users map[string]presence.Conns
		n     int
	}
	ch := make(chan snap, 1)
	if !h.post(func() {
		m := make(map[string]presence.Conns)
		for _, u := range h.users {
			if c := u.toTell(); c.Live() {
				m[u.id] = c
			}
		}
		ch <- snap{m, len(h.conns)}
	}) {
		return nil, 0, false
	}
	select {
	case s := <-ch:
		return s.users, s.n, true
	case <-ctx.Done():
	case <-h.done:
	}
	return nil, 0, false
}

func (h *Hub) publish(ev ClusterEvent) {
	if h.cfg.Backplane != nil {
		h.cfg.Backplane.Publish(ev)
	}
}

// publishUser tells other nodes u's record. It looks for a backplane
// before it builds the event: boxing a store.User is an allocation per
// status change, wasted on a single node.
func (h *Hub) publishUser(u *user) {
	if h.cfg.Backplane != nil {
		h.publish(UserChanged{User: u.rec})
	}
}

// publishConns tells other nodes u's local connections, if they changed
// (toTell: held ones during a grace), and why.
func (h *Hub) publishConns(u *user, cause presence.Reason) {
	if h.cfg.Backplane == nil {
		return
	}
	if c := u.toTell(); c != u.published {
		u.published = c
		h.publish(ConnsChanged{User: u.id, Conns: c, Reason: cause})
	}
}

func (h *Hub) apply(ev ClusterEvent) {
	now := time.Now()
	switch ev := ev.(type) {
	case ConnsChanged:
		cause := ev.Reason
		if cause == presence.NoReason {
			cause = presence.ReasonConnect // Why makes it what fits
			if !ev.Conns.Live() {
				cause = presence.ReasonDisconnect
			}
		}
		h.setRemote(h.user(ev.User), ev.Node, ev.Conns, cause, now)
	case UserChanged:
		u := h.user(ev.User.ID)
		changed, cause := h.setRecord(u, ev.User, now)
		h.changed(u, cause, changed, now)
	case CatalogChanged:
		if ev.Op == OpDeleted {
			h.catalog.Delete(ev.Status.ID)
		} else if !h.catalog.Taken(ev.Status.Name, ev.Status.ID) {
			h.catalog.Put(ev.Status)
		}
		h.followCatalog(ev.Status.ID, false)
		h.statusesChanged(ev.Op, ev.Status)
	case ServiceSwitched:
		if ev.Service.Enabled != h.service.Enabled || ev.Service.Reason != h.service.Reason {
			h.setService(ev.Service, h.count())
			h.logService(h.count(), "cluster", "presence service "+serviceWord(ev.Service.Enabled)+" on another node")
			if !ev.Service.Enabled && ev.Service.Reason == ReasonConnectionLimit {
				h.readyMsg = false
				h.limitNotice(h.count())
			}
		}
	case SettingsChanged:
		h.settings = ev.Settings
		for _, c := range h.conns {
			h.scheduleIdle(c)
		}
	case NodeGone:
		h.nodeGone(ev.Node, ev.Clean, now)
	case SignedOut:
		if u := h.users[ev.User]; u != nil {
			h.signOutHere(u, now)
		}
	case NodeSnapshot:
		for _, u := range h.users {
			if _, ok := u.remote[ev.Node]; ok {
				if _, still := ev.Users[u.id]; !still {
					h.setRemote(u, ev.Node, presence.Conns{}, presence.ReasonDisconnect, now)
				}
			}
		}
		for id, c := range ev.Users {
			h.setRemote(h.user(id), ev.Node, c, presence.ReasonConnect, now)
		}
	case CountChanged:
		h.clusterCount = ev.Count
		if h.cfg.Limit > 0 {
			h.warn(ev.Count)
		}
		h.countFell()
	case Resync:
		h.resync(ev, now)
	}
}

// setRemote records that node holds c of u's connections, because of cause.
func (h *Hub) setRemote(u *user, node string, c presence.Conns, cause presence.Reason, now time.Time) {
	if u.remote[node] == c {
		return
	}
	wasLive := u.live().Live()
	if c.Live() {
		if u.remote == nil {
			u.remote = make(map[string]presence.Conns)
		}
		u.remote[node] = c
	} else {
		delete(u.remote, node)
	}
	if wasLive && !u.live().Live() {
		u.rec.LastSeen = now // its last connection anywhere just ended
	}
	h.changed(u, cause, false, now)
}

// resync replaces durable state with the store's and tells subscribers
// what that changed.
func (h *Hub) resync(ev Resync, now time.Time) {
	old := h.catalog
	h.catalog = status.NewCatalog(ev.Statuses)
	for _, cs := range old.All() {
		if _, ok := h.catalog.Get(cs.ID); !ok {
			h.statusesChanged(OpDeleted, cs)
		}
	}
	for _, cs := range h.catalog.All() {
		if prev, ok := old.Get(cs.ID); !ok || prev != cs {
			h.statusesChanged(OpUpdated, cs)
		}
	}
	live := make(map[string]bool, len(ev.Nodes))
	for _, node := range ev.Nodes {
		live[node] = true
	}
	for _, u := range h.users {
		for node := range u.remote {
			if !live[node] {
				h.setRemote(u, node, presence.Conns{}, presence.ReasonNodeLost, now)
			}
		}
	}
	for _, rec := range ev.Users {
		u := h.user(rec.ID)
		changed, cause := h.setRecord(u, rec, now)
		h.changed(u, cause, changed, now)
	}
	h.settings = ev.Settings
	if ev.Service.Enabled != h.service.Enabled {
		h.setService(ev.Service, h.count())
	} else {
		h.service = ev.Service
	}
}

// count is the workspace's connection count: every node's when clustered.
func (h *Hub) count() int {
	if h.cfg.Backplane != nil {
		return max(h.clusterCount, len(h.conns))
	}
	return len(h.conns)
}
