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
	idleAt     time.Time // zero: not in the idle heap
	heapIndex  int       // index in the idle heap, -1 when not in it
	subs       []string  // users subscribed to by id, sorted
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
	since  time.Time // when status last changed; zero: never seen

	remote    map[string]presence.Conns // other nodes' connections, by node
	published presence.Conns            // local connections last told to other nodes

	limitToldAt time.Time // when admins were last told u's connections are refused
}

// user returns the user with id, creating it in its default state.
func (h *Hub) user(id string) *user {
	u := h.users[id]
	if u == nil {
		u = &user{id: id, rec: store.NewUser(id), conns: map[ConnID]*conn{}}
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
	for _, r := range u.remote {
		c.Online += r.Online
		c.Away += r.Away
	}
	return c
}

func (u *user) holding() status.Holding {
	return status.Holding{Manual: u.rec.Manual, Text: u.rec.Text, Custom: u.rec.Custom}
}

func (u *user) hold(hd status.Holding) {
	u.rec.Manual, u.rec.Text, u.rec.Custom = hd.Manual, hd.Text, hd.Custom
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
	e := Entry{User: u.id, Status: u.status, Text: u.rec.Text, Custom: u.rec.Custom, Since: u.since, LastSeen: u.rec.LastSeen}
	if u.live().Live() && u.status != presence.Offline {
		// Connected and visible: seen now. An invisible user keeps the
		// last_seen of the disconnect before, so nothing gives them away.
		e.LastSeen = now
	}
	return e
}

func (h *Hub) self(u *user) Self {
	return Self{Status: u.status, Disabled: !h.service.Enabled, Manual: u.rec.Manual, Text: u.rec.Text, Custom: u.rec.Custom}
}

// changed recomputes u's effective status after a change to its connections
// or its holding, and tells subscribers if what they see changed.
// textChanged says the text or custom id changed too.
func (h *Hub) changed(u *user, textChanged bool, now time.Time) {
	h.publishConns(u)
	st := presence.Effective(u.rec.Manual, u.live())
	if st == u.status && !textChanged {
		return
	}
	if st != u.status {
		u.status = st
		u.since = now
	}
	h.fanOut(u, now)
}

// fanOut hands u's new state to everyone subscribed to it. Nothing goes out
// while the service is disabled: a fresh snapshot follows when it is back.
func (h *Hub) fanOut(u *user, now time.Time) {
	if !h.service.Enabled {
		return
	}
	e := h.entry(u, now)
	for _, c := range h.watchers[u.id] {
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
