package hub

import (
	"container/heap"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

func (h *Hub) connect(info ConnInfo, sink Sink) {
	now := time.Now()
	u := h.user(info.User)
	if len(u.conns) >= h.cfg.MaxConnsPerUser {
		sink.Send(&Reply{RequestID: info.RequestID, Err: errorf(CodeOverLimit,
			"%s already has %d connections, the most one user may have", info.User, len(u.conns))})
		sink.Close(CloseTooManyConns)
		h.userLimitNotice(u, now)
		return
	}
	c := &conn{id: info.ID, user: u, admin: info.Admin, sink: sink, lastActive: now, heapIndex: -1}
	u.conns[c.id] = c
	u.online++
	h.changed(u, false, now)
	// The limit is judged before c joins h.conns, so that a service event
	// does not reach it: the connection that trips the limit learns it
	// from its welcome, and then gets the admins' notices like the others.
	n := info.Count
	if n <= 0 {
		n = h.count() + 1
	}
	h.clusterCount = n
	notices := h.countRose(n, now)
	h.conns[c.id] = c
	sink.Send(&Welcome{RequestID: info.RequestID, Service: h.serviceNow(), Self: h.self(u),
		Statuses: h.catalog.All(), IdleLimit: h.idleLimit(u)})
	if c.admin {
		for _, n := range notices {
			sink.Send(n)
		}
	}
	h.scheduleIdle(c)
}

func (h *Hub) disconnect(id ConnID) {
	c := h.conns[id]
	if c == nil {
		return // refused at connect, or already gone
	}
	now := time.Now()
	u := c.user
	if c.heapIndex >= 0 {
		heap.Remove(&h.idle, c.heapIndex)
	}
	delete(h.conns, id)
	delete(u.conns, id)
	if !c.away {
		u.online--
	}
	h.unsubscribeAll(c)
	if !u.live().Live() {
		u.rec.LastSeen = now
		h.writer.putUser(u.rec)
	}
	h.changed(u, false, now)
	h.countFell()
}

func (h *Hub) setConnAway(c *conn, away bool, now time.Time) {
	if c.away == away {
		return
	}
	c.away = away
	if away {
		c.user.online--
	} else {
		c.user.online++
	}
	h.changed(c.user, false, now)
}

func (h *Hub) do(id ConnID, reqID string, cmd Command) {
	c := h.conns[id]
	if c == nil {
		return // the connection is gone: nobody to answer
	}
	reply := func(result any, err *Error) {
		c.sink.Send(&Reply{RequestID: reqID, Result: result, Err: err})
	}
	if adminOnly(cmd) && !c.admin {
		reply(nil, errorf(CodeForbidden, "this command needs the admin role"))
		return
	}
	now := time.Now()
	u := c.user
	switch cmd := cmd.(type) {
	case Activity:
		c.lastActive = now
		if c.away {
			h.setConnAway(c, false, now)
		}
		if c.heapIndex < 0 {
			h.scheduleIdle(c)
		}
		reply(nil, nil)
	case Idle:
		h.setConnAway(c, true, now)
		h.scheduleIdle(c)
		reply(nil, nil)
	case SetStatus:
		reply(h.setHolding(u, status.Holding{Manual: cmd.Manual, Text: cmd.Text}, now))
	case SetCustomStatus:
		cs, ok := h.catalog.Get(cmd.Custom)
		if !ok {
			reply(nil, errorf(CodeNotFound, "no custom status has id %q", cmd.Custom))
			return
		}
		reply(h.setHolding(u, status.Holding{Manual: cs.Presence, Text: cs.Name, Custom: cs.ID}, now))
	case SetPrefs:
		if !h.Healthy() {
			reply(nil, errUnavailable())
			return
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
		reply(PrefsResult{Self: h.self(u), IdleLimit: u.rec.IdleLimit, AutoAway: u.rec.AutoAway}, nil)
	case Subscribe:
		reply(h.subscribe(c, cmd))
	case Unsubscribe:
		if cmd.All {
			h.unsubscribeAll(c)
		} else {
			for _, uid := range cmd.Users {
				h.unwatch(c, uid)
			}
		}
		reply(nil, nil)
	case Query:
		reply(h.entries(cmd.Users), nil)
	case AdminStats:
		h.adminStats(cmd.ResetPeak, reply)
	case AdminService:
		h.adminService(cmd.Enabled, reply)
	case ListStatuses:
		items, total := h.catalog.Search(cmd.Query, cmd.Offset, cmd.Limit)
		reply(StatusPage{Items: items, Total: total}, nil)
	case CreateStatus:
		h.createStatus(cmd, reply)
	case UpdateStatus:
		h.updateStatus(cmd, reply)
	case DeleteStatus:
		h.deleteStatus(cmd.ID, reply)
	case AdminSettings:
		h.adminSettings(cmd.IdleLimit, reply)
	default:
		reply(nil, errorf(CodeInternal, "the hub does not know %T", cmd))
	}
}

func errUnavailable() *Error {
	return errorf(CodeUnavailable, "the store is unreachable, so this change could not be saved; try again shortly")
}

// setHolding gives u a new chosen status. It is refused while the store is
// known to be down, so that a success always means a saved change.
func (h *Hub) setHolding(u *user, hd status.Holding, now time.Time) (any, *Error) {
	if !h.Healthy() {
		return nil, errUnavailable()
	}
	textChanged := hd.Text != u.rec.Text || hd.Custom != u.rec.Custom
	u.hold(hd)
	h.writer.putUser(u.rec)
	h.publish(UserChanged{User: u.rec})
	h.changed(u, textChanged, now)
	return SelfResult{Self: h.self(u)}, nil
}

func (h *Hub) subscribe(c *conn, cmd Subscribe) (any, *Error) {
	now := time.Now()
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
			h.watchers[uid] = append(h.watchers[uid], c)
		}
	}
	return h.entries(cmd.Users), nil
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
	w := h.watchers[uid]
	i := slices.Index(w, c)
	if i < 0 {
		return
	}
	w[i] = w[len(w)-1]
	w[len(w)-1] = nil
	if w = w[:len(w)-1]; len(w) == 0 {
		delete(h.watchers, uid)
	} else {
		h.watchers[uid] = w
	}
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
func (h *Hub) entries(ids []string) Entries {
	now := time.Now()
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

func (h *Hub) usersOnline() int {
	n := 0
	for _, u := range h.users {
		if u.live().Live() {
			n++
		}
	}
	return n
}

func (h *Hub) createStatus(cmd CreateStatus, reply func(any, *Error)) {
	name, err := status.CleanName(cmd.Name)
	if err != nil {
		reply(nil, errorf(CodeBadRequest, "%s", err))
		return
	}
	if h.catalog.Taken(name, "") {
		reply(nil, errConflict(name))
		return
	}
	cs := status.Custom{ID: uuid.NewString(), Name: name, Presence: cmd.Presence}
	h.writer.do(job{
		write: func(ctx context.Context) error { return h.cfg.Store.CreateCustomStatus(ctx, cs) },
		done: func(err error) {
			if err != nil {
				reply(nil, storeError(err, name))
				return
			}
			h.catalog.Put(cs)
			h.publish(CatalogChanged{Op: "created", Status: cs})
			h.broadcast(&StatusesChanged{Op: "created", Status: cs})
			reply(StatusResult{Status: cs}, nil)
		},
	})
}

func (h *Hub) updateStatus(cmd UpdateStatus, reply func(any, *Error)) {
	if _, ok := h.catalog.Get(cmd.ID); !ok {
		reply(nil, errorf(CodeNotFound, "no custom status has id %q", cmd.ID))
		return
	}
	name, err := status.CleanName(cmd.Name)
	if err != nil {
		reply(nil, errorf(CodeBadRequest, "%s", err))
		return
	}
	if h.catalog.Taken(name, cmd.ID) {
		reply(nil, errConflict(name))
		return
	}
	cs := status.Custom{ID: cmd.ID, Name: name, Presence: cmd.Presence}
	h.writer.do(job{
		write: func(ctx context.Context) error { return h.cfg.Store.UpdateCustomStatus(ctx, cs) },
		done: func(err error) {
			if err != nil {
				reply(nil, storeError(err, name))
				return
			}
			h.catalog.Put(cs)
			h.followCatalog(cs.ID, true)
			h.publish(CatalogChanged{Op: "updated", Status: cs})
			h.broadcast(&StatusesChanged{Op: "updated", Status: cs})
			reply(StatusResult{Status: cs}, nil)
		},
	})
}

func (h *Hub) deleteStatus(id string, reply func(any, *Error)) {
	cs, ok := h.catalog.Get(id)
	if !ok {
		reply(nil, errorf(CodeNotFound, "no custom status has id %q", id))
		return
	}
	h.writer.do(job{
		write: func(ctx context.Context) error { return h.cfg.Store.DeleteCustomStatus(ctx, id) },
		done: func(err error) {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				reply(nil, storeError(err, cs.Name))
				return
			}
			h.catalog.Delete(id)
			h.followCatalog(id, true)
			h.publish(CatalogChanged{Op: "deleted", Status: cs})
			h.broadcast(&StatusesChanged{Op: "deleted", Status: cs})
			reply(StatusResult{Status: cs}, nil)
		},
	})
}

// followCatalog updates every holder of the custom status id after it
// changed in the catalog. The node where the admin made the change saves
// them (persist); the others only follow.
func (h *Hub) followCatalog(id string, persist bool) {
	now := time.Now()
	for _, u := range h.users {
		if u.rec.Custom == id && h.follow(u) {
			if persist {
				h.writer.putUser(u.rec)
			}
			h.changed(u, true, now)
		}
	}
}

func errConflict(name string) *Error {
	return errorf(CodeConflict, "a custom status named %q already exists", name)
}

// storeError turns a failed store write into the error a client sees.
func storeError(err error, name string) *Error {
	switch {
	case errors.Is(err, store.ErrConflict):
		return errConflict(name)
	case errors.Is(err, store.ErrNotFound):
		return errorf(CodeNotFound, "the custom status no longer exists")
	}
	return errUnavailable()
}

func (h *Hub) adminSettings(limit time.Duration, reply func(any, *Error)) {
	s := store.Settings{IdleLimit: limit}
	h.writer.do(job{
		write: func(ctx context.Context) error { return h.cfg.Store.PutSettings(ctx, s) },
		done: func(err error) {
			if err != nil {
				reply(nil, storeError(err, ""))
				return
			}
			h.settings = s
			h.publish(SettingsChanged{Settings: s})
			for _, c := range h.conns {
				h.scheduleIdle(c)
			}
			reply(SettingsResult{IdleLimit: limit}, nil)
		},
	})
}

// broadcast sends m to every connection.
func (h *Hub) broadcast(m Message) {
	for _, c := range h.conns {
		c.sink.Send(m)
	}
}

func (h *Hub) adminStats(resetPeak bool, reply func(any, *Error)) {
	stats := func() Stats { return Stats{Service: h.serviceNow(), Peak: h.peak, UsersOnline: h.usersOnline()} }
	if !resetPeak {
		reply(stats(), nil)
		return
	}
	n := h.count()
	h.writer.do(job{
		write: func(ctx context.Context) error { return h.cfg.Store.ResetPeak(ctx, n) },
		done: func(err error) {
			if err != nil {
				reply(nil, storeError(err, ""))
				return
			}
			h.peak = max(n, h.count())
			reply(stats(), nil)
		},
	})
}
