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
	// The ids not followed yet, each once. Sorted, to drop repeats without
	// comparing every pair (a subscribe carries up to hundreds of ids) and
	// to merge into c.subs, which is sorted too.
	fresh := make([]string, 0, len(cmd.Users))
	for _, uid := range cmd.Users {
		if _, found := slices.BinarySearch(c.subs, uid); !found {
			fresh = append(fresh, uid)
		}
	}
	slices.Sort(fresh)
	fresh = slices.Compact(fresh)
	if n := len(c.subs) + len(fresh); n > h.cfg.MaxSubscriptions {
		return nil, errorf(CodeOverLimit, "this would make %d subscriptions on one connection, at most %d allowed", n, h.cfg.MaxSubscriptions)
	}
	for i, uid := range fresh {
		if u := h.users[uid]; u != nil {
			fresh[i] = u.id // the hub's copy, not the one the command decoded
			u.watchers = append(u.watchers, c)
		} else {
			h.watchers[uid] = append(h.watchers[uid], c)
		}
	}
	if len(fresh) > 0 {
		c.subs = mergeSorted(c.subs, fresh)
	}
	return h.entries(cmd.Users, now), nil
}

// mergeSorted merges a and b, each sorted and with no id in common, into
// a new sorted slice with exactly the room needed: an idle connection
// keeps its subscriptions for hours, and append would leave up to twice
// the room.
func mergeSorted(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
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
