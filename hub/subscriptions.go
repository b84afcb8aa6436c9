package hub

import (
	"slices"
	"time"

	"github.com/presenced/presenced/presence"
)

// subscribe adds users (or everyone) to what c follows and answers their
// presence now.
func (h *Hub) subscribe(c *conn, cmd Subscribe, now time.Time) (Result, *Error) {
	if cmd.All {
		if !c.subAll {
			c.subAll = true
			h.allSubs[c.id] = c
		}
		var es Entries = []Entry{}
		for _, u := range h.users {
			if u.status != presence.Offline {
				es = append(es, h.entry(u, now))
			}
		}
		return es, nil
	}
	var fresh []string
	for _, uid := range cmd.Users {
		if _, found := slices.BinarySearch(c.subs, uid); !found && !slices.Contains(fresh, uid) {
			fresh = append(fresh, h.intern(uid))
		}
	}
	if n := len(c.subs) + len(fresh); n > h.cfg.MaxSubscriptions {
		return nil, errorf(CodeOverLimit, "this would make %d subscriptions on one connection, at most %d allowed", n, h.cfg.MaxSubscriptions)
	}
	if len(fresh) > 0 {
		// Exactly the room needed: an idle connection keeps its
		// subscriptions for hours, and append would double them.
		subs := make([]string, len(c.subs), len(c.subs)+len(fresh))
		copy(subs, c.subs)
		c.subs = append(subs, fresh...)
		slices.Sort(c.subs)
		for _, uid := range fresh {
			if u := h.users[uid]; u != nil {
				u.watchers = append(u.watchers, c)
			} else {
				h.watchers[uid] = append(h.watchers[uid], c)
			}
		}
	}
	return h.entries(cmd.Users, now), nil
}

// unsubscribe drops users (or everything) from what c follows.
func (h *Hub) unsubscribe(c *conn, cmd Unsubscribe) (Result, *Error) {
	if cmd.All {
		h.unsubscribeAll(c)
		return nil, nil
	}
	for _, uid := range cmd.Users {
		h.unwatch(c, uid)
	}
	return nil, nil
}

// query answers users' presence once, without subscribing.
func (h *Hub) query(cmd Query, now time.Time) (Result, *Error) {
	return h.entries(cmd.Users, now), nil
}

// intern returns the hub's own copy of a known user's id, so that
// subscriptions share it rather than keep the one each command decoded.
func (h *Hub) intern(uid string) string {
	if u := h.users[uid]; u != nil {
		return u.id
	}
	return uid
}

func (h *Hub) unwatch(c *conn, uid string) {
	i, found := slices.BinarySearch(c.subs, uid)
	if !found {
		return
	}
	c.subs = slices.Delete(c.subs, i, i+1)
	h.dropWatcher(c, uid)
}

// dropWatcher removes c from the connections subscribed to uid.
func (h *Hub) dropWatcher(c *conn, uid string) {
	if u := h.users[uid]; u != nil {
		u.watchers = without(u.watchers, c)
		return
	}
	if w := without(h.watchers[uid], c); len(w) == 0 {
		delete(h.watchers, uid)
	} else {
		h.watchers[uid] = w
	}
}

// without removes c from w, in place, if it is there; order does not
// matter.
func without(w []*conn, c *conn) []*conn {
	i := slices.Index(w, c)
	if i < 0 {
		return w
	}
	w[i] = w[len(w)-1]
	w[len(w)-1] = nil
	if w = w[:len(w)-1]; len(w) == 0 {
		return nil
	}
	return w
}

func (h *Hub) unsubscribeAll(c *conn) {
	for _, uid := range c.subs {
		h.dropWatcher(c, uid)
	}
	c.subs = nil
	c.subAll = false
	delete(h.allSubs, c.id)
}

// entries is the presence of users, in the order asked; users never seen
// read offline.
func (h *Hub) entries(ids []string, now time.Time) Entries {
	es := make([]Entry, 0, len(ids))
	for _, id := range ids {
		if u := h.users[id]; u != nil {
			es = append(es, h.entry(u, now))
		} else {
			es = append(es, Entry{User: id, Disabled: !h.service.Enabled})
		}
	}
	return es
}
