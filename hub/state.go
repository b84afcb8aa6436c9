package hub

import (
	"context"
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// conn is one live connection.
type conn struct {
	id         ConnID
	user       *user
	admin      bool
	sink       Sink
	away       bool
	lastActive time.Time
	idle       deadline // when it goes away
	subs       []string // users subscribed to by id, sorted
	subAll     bool

	// Replies in command order: asked numbers the commands, answered is
	// the number of the first one not yet answered, and held the replies
	// from it on (nil: not yet answered) while one of them waits.
	asked, answered uint64
	held            []*Reply
}

// user is everything the hub knows of one user. Users stay in memory once
// seen: a workspace's users fit, and it keeps since and last_seen.
type user struct {
	id     string
	rec    store.User
	conns  map[ConnID]*conn
	online int // conns that are online; the rest are away
	status presence.Status
	since  time.Time       // when status last changed; zero: never seen
	reason presence.Reason // why what others see of u last changed
	seen   presence.Conns  // the connections status was last computed from

	// A user whose last connection closed is held, with the connections
	// they had, until the grace deadline: see grace.go.
	grace    deadline
	held     presence.Conns
	heldHere bool // the held connections were this node's
	expiry   deadline

	// Connections subscribed to u by id: kept on u rather than in a map by
	// id, so that a change fans out without a lookup. Subscriptions to an
	// id with no user yet wait in Hub.watchers and move here when it comes.
	watchers []*conn

	remote    map[string]presence.Conns // other nodes' connections, by node
	published presence.Conns            // local connections last told to other nodes

	limitToldAt time.Time // when admins were last told u's connections are refused
}

// user returns the user with id, creating it in its default state.
func (h *Hub) user(id string) *user {
	u := h.users[id]
	if u == nil {
		u = &user{id: id, rec: store.NewUser(id), conns: map[ConnID]*conn{}}
		u.grace = userDeadline(u, graceDeadline)
		u.expiry = userDeadline(u, expiryDeadline)
		if w, ok := h.watchers[id]; ok {
			u.watchers = w
			delete(h.watchers, id)
		}
		h.users[id] = u
	}
	return u
}

// local counts this node's connections of u.
func (u *user) local() presence.Conns {
	return presence.Conns{Online: u.online, Away: len(u.conns) - u.online}
}

// live counts u's connections on every node.
func (u *user) live() presence.Conns {
	c := u.local()
	if len(u.remote) == 0 {
		return c // a single node: no iterator to set up, per entry read
	}
	for _, r := range u.remote {
		c.Online += r.Online
		c.Away += r.Away
	}
	return c
}

// present is the connections u's status is computed from: the live ones,
// or while u is held in a reconnect grace, the ones u had.
func (u *user) present() presence.Conns {
	if c := u.live(); c.Live() || !u.grace.pending() {
		return c
	}
	return u.held
}

func (u *user) holding() status.Holding {
	return status.Holding{Manual: u.rec.Manual, Text: u.rec.Text, Custom: u.rec.Custom, Until: u.rec.Until}
}

func (u *user) hold(hd status.Holding) {
	u.rec.Manual, u.rec.Text, u.rec.Custom, u.rec.Until = hd.Manual, hd.Text, hd.Custom, hd.Until
}

// shownChanged reports whether what entries show of a choice (text, custom
// id, until) differs between a and b; the manual status shows only
// through the effective one.
func shownChanged(a, b status.Holding) bool {
	return a.Text != b.Text || a.Custom != b.Custom || !a.Until.Equal(b.Until)
}

// follow brings u's custom status in line with the catalog. It reports
// whether anything changed.
func (h *Hub) follow(u *user) bool {
	old := u.holding()
	hd := h.catalog.Follow(old)
	u.hold(hd)
	return hd != old
}

// entry is u as subscribers see it now.
func (h *Hub) entry(u *user, now time.Time) Entry {
	if !h.service.Enabled {
		return Entry{User: u.id, Disabled: true}
	}
	e := Entry{User: u.id, Status: u.status, Text: u.rec.Text, Custom: u.rec.Custom, Until: u.rec.Until,
		Reason: u.reason, Since: u.since, LastSeen: u.rec.LastSeen}
	if u.present().Live() && u.status != presence.Offline {
		// Connected (or held in a grace) and visible: seen now. An
		// invisible user keeps the last_seen of the disconnect before, so
		// nothing gives them away.
		e.LastSeen = now
	}
	return e
}

func (h *Hub) self(u *user) Self {
	return Self{Status: u.status, Disabled: !h.service.Enabled, Manual: u.rec.Manual, Text: u.rec.Text,
		Custom: u.rec.Custom, Until: u.rec.Until, Reason: u.reason}
}

// changed recomputes u's effective status after a change to its connections
// or its holding, for cause, and tells subscribers, the history and the
// change sink if what they see changed. holdingChanged says the text,
// custom id or until changed too.
func (h *Hub) changed(u *user, cause presence.Reason, holdingChanged bool, now time.Time) {
	if u.grace.pending() && u.live().Live() {
		h.release(u) // back somewhere: the grace has done its work
	}
	h.publishConns(u, cause)
	before, after := u.seen, u.present()
	u.seen = after
	st := presence.Effective(u.rec.Manual, after)
	if st == u.status && !holdingChanged {
		return
	}
	prev := u.status
	u.reason = presence.Why(cause, before, after)
	if st != prev {
		u.status = st
		u.since = now
		h.history.Add(u.id, presence.Transition{At: now, Status: st, Previous: prev, Reason: u.reason, Text: u.rec.Text})
	}
	h.fanOut(u, now)
	h.presenceChanged(u, prev, now)
}

// fanOut hands u's new state to everyone subscribed to it. Nothing goes out
// while the service is disabled: a fresh snapshot follows when it is back.
func (h *Hub) fanOut(u *user, now time.Time) {
	if !h.service.Enabled {
		return
	}
	e := h.entry(u, now)
	for _, c := range u.watchers {
		if !c.subAll {
			c.sink.Presence(e)
		}
	}
	for _, c := range h.allSubs {
		c.sink.Presence(e)
	}
}

// Tally counts live users by what others see: Online, Away and Busy, and
// Invisible for users connected with manual status offline. It also says
// whether the service is on, the limit (0: none) and the peak count.
type Tally struct {
	Connections        int
	Online, Away, Busy int
	Invisible          int
	Enabled            bool
	Limit, Peak        int
}

func (h *Hub) tally() Tally {
	t := Tally{Connections: len(h.conns), Enabled: h.service.Enabled, Limit: h.cfg.Limit, Peak: h.peak}
	for _, u := range h.users {
		if len(u.conns) == 0 {
			continue
		}
		switch u.status {
		case presence.Online:
			t.Online++
		case presence.Away:
			t.Away++
		case presence.Busy:
			t.Busy++
		default:
			t.Invisible++
		}
	}
	return t
}

// Tally returns the hub's figures now, or false if the hub has stopped or
// ctx ends first.
func (h *Hub) Tally(ctx context.Context) (Tally, bool) {
	ch := make(chan Tally, 1)
	if !h.post(func() { ch <- h.tally() }) {
		return Tally{}, false
	}
	select {
	case t := <-ch:
		return t, true
	case <-ctx.Done():
		return Tally{}, false
	case <-h.done:
		return Tally{}, false
	}
}
