package hub

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// Edition is the product edition, which decides the connection limit.
type Edition string

// Editions.
const (
	Free       Edition = "free"
	Enterprise Edition = "enterprise"
)

// FreeLimit is the free edition's cap on concurrent connections.
const FreeLimit = 200

// Defaults for the zero fields of Config.
const (
	// DefaultIdleLimit is how long a connection goes without activity
	// before it reads away: long enough for a read or a call, short
	// enough that away means away.
	DefaultIdleLimit = 5 * time.Minute
	// DefaultMaxConnsPerUser is above FreeLimit, so that on the free
	// edition the workspace limit trips first, and it still stops one
	// token from exhausting a node.
	DefaultMaxConnsPerUser = 250
	// DefaultMaxSubscriptions bounds the memory one connection's
	// subscriptions take (a subscription to all counts as one).
	DefaultMaxSubscriptions = 5000
	// DefaultInbox absorbs a burst of connects (a node restart brings every
	// client back at once) without blocking the web goroutines.
	DefaultInbox = 4096
	// drainTimeout bounds the final writes at shutdown.
	drainTimeout = 5 * time.Second
)

// Config configures a Hub. The zero value of each field means its default.
type Config struct {
	// Store keeps what survives a restart. Required.
	Store store.Store
	// Log receives the hub's logs. Default: no logs.
	Log zerolog.Logger
	// Edition is Free (default) or Enterprise.
	Edition Edition
	// Limit lowers the free edition's connection limit (for tests); it can
	// never raise it past FreeLimit. Default: FreeLimit. Ignored on
	// Enterprise, which has no limit.
	Limit int
	// IdleLimit is the workspace's default idle limit, until an admin sets
	// another. Default: DefaultIdleLimit.
	IdleLimit time.Duration
	// MaxConnsPerUser caps one user's concurrent connections (tabs and
	// devices). Default: DefaultMaxConnsPerUser.
	MaxConnsPerUser int
	// MaxSubscriptions caps the users one connection subscribes to by id.
	// Default: DefaultMaxSubscriptions.
	MaxSubscriptions int
	// Inbox is the inbox's capacity. Default: DefaultInbox.
	Inbox int
	// Backplane links this hub with other nodes' (scale-out); the
	// connection count is then the workspace's, every node's, which the
	// hub keeps through it. Default: none, a single node.
	Backplane Backplane
}

// Hub is the live state of the workspace. Create it with New and start it
// with Run.
type Hub struct {
	cfg     Config
	log     zerolog.Logger
	inbox   chan func()
	done    chan struct{} // closed when the loop has stopped: the inbox is no longer read
	ready   chan struct{} // closed when Run has loaded the store
	nextID  atomic.Uint64
	writer  *writer
	started atomic.Bool

	// Owned by the Run goroutine.
	conns        map[ConnID]*conn
	users        map[string]*user
	allSubs      map[ConnID]*conn   // connections subscribed to all
	watchers     map[string][]*conn // user id -> connections subscribed to it by id
	catalog      *status.Catalog
	service      store.Service
	settings     store.Settings
	peak         int
	idle         idleHeap
	warned       map[int]bool // limit percentages already warned about
	readyMsg     bool         // "ready to re-enable" sent for this trip
	clusterCount int          // every node's connections, as last told
}

// New returns a hub for cfg. It fills in defaults.
func New(cfg Config) *Hub {
	if cfg.Edition == "" {
		cfg.Edition = Free
	}
	if cfg.Edition == Free && (cfg.Limit <= 0 || cfg.Limit > FreeLimit) {
		cfg.Limit = FreeLimit
	}
	if cfg.Edition == Enterprise {
		cfg.Limit = 0
	}
	if cfg.IdleLimit <= 0 {
		cfg.IdleLimit = DefaultIdleLimit
	}
	if cfg.MaxConnsPerUser <= 0 {
		cfg.MaxConnsPerUser = DefaultMaxConnsPerUser
	}
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if cfg.Inbox <= 0 {
		cfg.Inbox = DefaultInbox
	}
	h := &Hub{
		cfg:      cfg,
		log:      cfg.Log,
		inbox:    make(chan func(), cfg.Inbox),
		done:     make(chan struct{}),
		ready:    make(chan struct{}),
		conns:    make(map[ConnID]*conn),
		users:    make(map[string]*user),
		allSubs:  make(map[ConnID]*conn),
		watchers: make(map[string][]*conn),
		catalog:  status.NewCatalog(nil),
		warned:   make(map[int]bool),
	}
	h.writer = newWriter(cfg.Store, cfg.Log)
	return h
}

// Ready is closed once the hub has loaded the store and serves commands.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Healthy reports whether the store is reachable, as last seen.
func (h *Hub) Healthy() bool { return h.writer.healthy.Load() }

// Run loads the workspace from the store, then serves commands until ctx is
// done. Before it returns it writes what is still pending (for up to
// drainTimeout)
// and joins every goroutine it started. It returns an error only when the
// store cannot be loaded.
func (h *Hub) Run(ctx context.Context) error {
	if h.started.Swap(true) {
		return errors.New("hub: Run called twice")
	}
	if err := h.load(ctx); err != nil {
		close(h.done)
		return err
	}
	var wg sync.WaitGroup
	wctx, stopWriter := context.WithCancel(context.Background())
	wg.Go(func() { h.writer.run(wctx, h.post) })

	close(h.ready)
	h.log.Info().Int("users", len(h.users)).Int("custom_statuses", h.catalog.Len()).
		Str("service", serviceWord(h.service.Enabled)).Msg("hub ready")
	h.loop(ctx)

	// In this order: once the loop is gone nobody reads the inbox, so the
	// stop signal goes first, and a caller or the writer waiting for room
	// in the inbox gives up; then the writer stops; then, alone with the
	// store, drain writes what is left.
	close(h.done)
	stopWriter()
	wg.Wait()
	h.writer.drain(drainTimeout)
	return nil
}

// loop serves the inbox and the idle deadlines until ctx is done.
func (h *Hub) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var armed time.Time // the deadline timer is aimed at; zero: none
	for {
		armed = h.armIdleTimer(timer, armed)
		select {
		case <-ctx.Done():
			return
		case f := <-h.inbox:
			f()
		case <-timer.C:
			armed = time.Time{}
			h.expireIdle(time.Now())
		}
	}
}

// post runs f on the hub goroutine. It waits for room in the inbox, and
// gives up (returning false) once the hub has stopped.
func (h *Hub) post(f func()) bool {
	select {
	case <-h.done:
		return false
	default:
	}
	select {
	case h.inbox <- f:
		return true
	case <-h.done:
		return false
	}
}

// load reads the durable state. It runs before the loop starts.
func (h *Hub) load(ctx context.Context) error {
	st := h.cfg.Store
	customs, err := st.CustomStatuses(ctx)
	if err != nil {
		return fmt.Errorf("hub: load custom statuses: %w", err)
	}
	h.catalog = status.NewCatalog(customs)
	users, err := st.Users(ctx)
	if err != nil {
		return fmt.Errorf("hub: load users: %w", err)
	}
	for _, rec := range users {
		u := h.user(rec.ID)
		u.rec = rec
		u.since = rec.LastSeen
		if h.follow(u) {
			h.writer.putUser(u.rec)
		}
	}
	if h.service, err = st.Service(ctx); err != nil {
		return fmt.Errorf("hub: load service state: %w", err)
	}
	if h.peak, err = st.Peak(ctx); err != nil {
		return fmt.Errorf("hub: load peak: %w", err)
	}
	if h.settings, err = st.Settings(ctx); err != nil {
		return fmt.Errorf("hub: load settings: %w", err)
	}
	return nil
}

func serviceWord(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}

// idleHeap orders connections by the time they go idle.
type idleHeap []*conn

func (q idleHeap) Len() int           { return len(q) }
func (q idleHeap) Less(i, j int) bool { return q[i].idleAt.Before(q[j].idleAt) }
func (q idleHeap) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].heapIndex, q[j].heapIndex = i, j
}
func (q *idleHeap) Push(x any) { c := x.(*conn); c.heapIndex = len(*q); *q = append(*q, c) }
func (q *idleHeap) Pop() any {
	old := *q
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	c.heapIndex = -1
	return c
}

// armIdleTimer aims t at the earliest idle deadline, unless it is aimed
// there already (armed): most commands leave it, and a timer reset per
// command costs more than the command. It returns where t is aimed.
func (h *Hub) armIdleTimer(t *time.Timer, armed time.Time) time.Time {
	var next time.Time
	if len(h.idle) > 0 {
		next = h.idle[0].idleAt
	}
	if next.Equal(armed) {
		return armed
	}
	if next.IsZero() {
		t.Stop()
	} else {
		t.Reset(time.Until(next))
	}
	return next
}

// expireIdle turns away every connection whose idle deadline has passed.
// Activity does not move a connection in the heap (that would cost a heap
// fix per command); a connection found active since is put back at its
// real deadline instead.
func (h *Hub) expireIdle(now time.Time) {
	for len(h.idle) > 0 && !h.idle[0].idleAt.After(now) {
		c := heap.Pop(&h.idle).(*conn)
		if at := presence.IdleAt(c.lastActive, h.idleLimit(c.user)); at.After(now) {
			c.idleAt = at
			heap.Push(&h.idle, c)
			continue
		}
		h.setConnAway(c, true, now)
	}
}

// scheduleIdle (re)places c in the idle heap at its current deadline.
func (h *Hub) scheduleIdle(c *conn) {
	at := time.Time{}
	if !c.away && c.user.rec.AutoAway {
		at = presence.IdleAt(c.lastActive, h.idleLimit(c.user))
	}
	c.idleAt = at
	switch {
	case at.IsZero() && c.heapIndex >= 0:
		heap.Remove(&h.idle, c.heapIndex)
	case at.IsZero():
	case c.heapIndex >= 0:
		heap.Fix(&h.idle, c.heapIndex)
	default:
		heap.Push(&h.idle, c)
	}
}

// idleLimit is u's effective idle limit.
func (h *Hub) idleLimit(u *user) time.Duration {
	if u.rec.IdleLimit > 0 {
		return u.rec.IdleLimit
	}
	if h.settings.IdleLimit > 0 {
		return h.settings.IdleLimit
	}
	return h.cfg.IdleLimit
}
