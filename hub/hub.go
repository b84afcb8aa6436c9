package hub

import (
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
	// DefaultFreeConnsPerUser caps one user's connections on a node of the
	// free edition, well below the workspace's limit: one runaway client
	// (a reconnect loop, a script opening tabs) is refused alone instead of
	// turning presence off for everyone.
	DefaultFreeConnsPerUser = 20
	// DefaultEnterpriseConnsPerUser stops one token from exhausting a
	// node, where no workspace limit trips.
	DefaultEnterpriseConnsPerUser = 250
	// DefaultMaxSubscriptions bounds the memory one connection's
	// subscriptions take (a subscription to all counts as one).
	DefaultMaxSubscriptions = 5000
	// DefaultInbox absorbs a burst of connects (a node restart brings every
	// client back at once) without blocking the web goroutines.
	DefaultInbox = 4096
	// DefaultHistoryUsers bounds the users whose recent transitions are
	// kept: at most about 95 MB when every one has a full ring.
	DefaultHistoryUsers = 50000
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
	// IdleLimitExplicit says IdleLimit was asked for (a flag), so it wins
	// over the limit an admin saved, until an admin sets one again.
	// Default: false, the saved limit wins.
	IdleLimitExplicit bool
	// MaxConnsPerUser caps one user's concurrent connections on this node
	// (tabs and devices): past it a connection is refused with over_limit
	// and admins get a notice naming the user. Refused connections do not
	// count towards the workspace limit. Default:
	// DefaultFreeConnsPerUser on the free edition,
	// DefaultEnterpriseConnsPerUser on enterprise.
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
	// OfflineGrace is how long a user whose last connection closed keeps
	// their status, so that a reload, a blip or a reconnect to another
	// node is invisible. Zero: no grace, offline at once (presenced's
	// -offline-grace defaults it to 5 s).
	OfflineGrace time.Duration
	// HistoryUsers bounds the users whose last presence.HistoryLen
	// transitions are kept (those who changed least recently go first).
	// Default: DefaultHistoryUsers.
	HistoryUsers int
	// Changes is told every change others see (see ChangeSink). Default:
	// none.
	Changes ChangeSink
}

// Hub is the live state of the workspace. Create it with New and start it
// with Run.
type Hub struct {
	cfg     Config
	log     zerolog.Logger
	inbox   chan op
	done    chan struct{} // closed when the loop has stopped: the inbox is no longer read
	ready   chan struct{} // closed when Run has loaded the store
	nextID  atomic.Uint64
	writer  *writer
	health  health // what the probes found (health.go)
	started atomic.Bool

	// Owned by the Run goroutine.
	conns        map[ConnID]*conn
	users        map[string]*user
	allSubs      map[ConnID]*conn   // connections subscribed to all
	watchers     map[string][]*conn // id -> connections subscribed to it, for ids with no user yet (see user.watchers)
	catalog      *status.Catalog
	service      store.Service
	settings     store.Settings
	peak         int
	deadlines    deadlines // idle, grace and expiry, earliest first
	history      *presence.Histories
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
		cfg.MaxConnsPerUser = DefaultFreeConnsPerUser
		if cfg.Edition == Enterprise {
			cfg.MaxConnsPerUser = DefaultEnterpriseConnsPerUser
		}
	}
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if cfg.Inbox <= 0 {
		cfg.Inbox = DefaultInbox
	}
	if cfg.HistoryUsers <= 0 {
		cfg.HistoryUsers = DefaultHistoryUsers
	}
	h := &Hub{
		cfg:      cfg,
		log:      cfg.Log,
		inbox:    make(chan op, cfg.Inbox),
		done:     make(chan struct{}),
		ready:    make(chan struct{}),
		conns:    make(map[ConnID]*conn),
		users:    make(map[string]*user),
		allSubs:  make(map[ConnID]*conn),
		watchers: make(map[string][]*conn),
		catalog:  status.NewCatalog(nil),
		history:  presence.NewHistories(cfg.HistoryUsers),
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
// drainTimeout) and joins every goroutine it started. It returns an error
// only when the store cannot be loaded.
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
	wg.Go(func() { h.probe(wctx) })

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

// maxPass bounds the commands one pass of the loop runs before it looks
// at its deadlines and ctx again: enough that a busy hub pays the select
// once per hundreds of commands, few enough that a deadline or a stop is
// never late by more than a fraction of a millisecond.
const maxPass = 256

// loop serves the inbox and the deadlines until ctx is done. A wake-up
// drains what is queued (up to maxPass) before the deadline timer is
// looked at again.
func (h *Hub) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var armed time.Time // the deadline timer is aimed at; zero: none
	for {
		armed = h.armTimer(timer, armed)
		select {
		case <-ctx.Done():
			return
		case o := <-h.inbox:
			h.run(o)
			h.runQueued()
		case <-timer.C:
			armed = time.Time{}
			h.expire(time.Now())
		}
	}
}

// runQueued runs what is already in the inbox, up to maxPass-1 items,
// without waiting for more.
func (h *Hub) runQueued() {
	for range maxPass - 1 {
		select {
		case o := <-h.inbox:
			h.run(o)
		default:
			return
		}
	}
}

// op is one item of the inbox: a connection's command (Do), which needs
// no closure, or any other work for the hub goroutine (f).
type op struct {
	f     func()
	id    ConnID
	reqID string
	cmd   Command
}

// run runs one item of the inbox.
func (h *Hub) run(o op) {
	if o.f != nil {
		o.f()
		return
	}
	h.do(o.id, o.reqID, o.cmd)
}

// post runs f on the hub goroutine. It waits for room in the inbox, and
// gives up (returning false) once the hub has stopped.
func (h *Hub) post(f func()) bool { return h.send(op{f: f}) }

// send queues o. It waits for room in the inbox, and gives up (returning
// false) once the hub has stopped.
func (h *Hub) send(o op) bool {
	select {
	case <-h.done:
		return false
	default:
	}
	select {
	case h.inbox <- o:
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
	now := time.Now()
	for _, rec := range users {
		u := h.user(rec.ID)
		u.since = rec.LastSeen
		if !rec.LastSeen.IsZero() {
			u.reason = presence.ReasonDisconnect
		}
		u.rec = rec
		h.clearExpired(u, now) // an until passed while the server was down
		if h.follow(u) {
			h.writer.putUser(u.rec)
		}
		h.scheduleExpiry(u)
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
	h.pickIdleLimit()
	return nil
}

func serviceWord(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}

// idleLimit is u's effective idle limit.
func (h *Hub) idleLimit(u *user) time.Duration {
	if u.rec.IdleLimit > 0 {
		return u.rec.IdleLimit
	}
	return h.workspaceIdleLimit()
}
