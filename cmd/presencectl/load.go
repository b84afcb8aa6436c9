package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presenced/presenced/web/wire"
)

// Load limits.
const (
	spareFiles  = 100  // open files kept free for everything but connections
	maxInflight = 1000 // connects under way at once, whatever -rate says
)

// loadConfig is the load command's flags, checked.
type loadConfig struct {
	URLs         []string
	N            int
	Users        int
	UserPrefix   string
	Rate         float64 // connects per second
	Duration     time.Duration
	Warmup       time.Duration // latencies of changes sent earlier are not counted
	Subscribe    int
	SubscribeAll bool
	Churn        float64 // fraction of users changing status per second
	Secret       string
	SourceIPs    string // "": automatic, "none": the kernel's choice
	ConnTimeout  time.Duration
	JSON         bool
}

// urlList is a flag that may be repeated and takes comma-separated lists.
type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }

func (u *urlList) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*u = append(*u, part)
		}
	}
	return nil
}

// parseLoadFlags parses and checks the load command's arguments.
func parseLoadFlags(args []string, stderr io.Writer) (*flag.FlagSet, loadConfig, error) {
	fs := flag.NewFlagSet("presencectl load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadConfig
	var urls urlList
	fs.Var(&urls, "url", "server WebSocket `URL`; repeat or separate with commas to spread connections round-robin (default "+defaultURL+")")
	fs.IntVar(&cfg.N, "n", 100, "connections to open")
	fs.IntVar(&cfg.Users, "users", 0, "distinct users, named PREFIX0.. (default: -n)")
	fs.StringVar(&cfg.UserPrefix, "user-prefix", "load-", "prefix of the user ids")
	fs.Float64Var(&cfg.Rate, "rate", 500, "connects per second")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "stop after this long, connects included")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "count no latency of a change sent within this long of the start (the connect burst)")
	fs.IntVar(&cfg.Subscribe, "subscribe", 0, "each connection subscribes to `K` other users")
	fs.BoolVar(&cfg.SubscribeAll, "subscribe-all", false, "each connection subscribes to all users")
	fs.Float64Var(&cfg.Churn, "churn", 0, "fraction of users that change status each second, e.g. 0.01")
	fs.StringVar(&cfg.Secret, "secret", os.Getenv(secretEnv), "mint tokens with this HS256 `secret` (default $"+secretEnv+"; else fetch them from /dev/token)")
	fs.StringVar(&cfg.SourceIPs, "source-ips", "", "local `addresses` to connect from, e.g. 127.0.0.2-127.0.0.20 (default: one per 15000 connections from 127.0.0.2 when the target is loopback; none: the kernel's choice)")
	fs.DurationVar(&cfg.ConnTimeout, "connect-timeout", 15*time.Second, "give up on one connect+hello+subscribe after this long")
	fs.BoolVar(&cfg.JSON, "json", false, "print the summary as JSON on standard output too (the readable one then goes to standard error)")
	if _, err := parseInterleaved(fs, args, 0); err != nil {
		return fs, cfg, err
	}
	cfg.URLs = urls
	if len(cfg.URLs) == 0 {
		cfg.URLs = []string{defaultURL}
	}
	if cfg.Users == 0 {
		cfg.Users = cfg.N
	}
	return fs, cfg, cfg.check()
}

func (cfg *loadConfig) check() error {
	for _, s := range cfg.URLs {
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("-url %q: %w", s, err)
		}
		if u.Scheme != "ws" && u.Scheme != "wss" || u.Host == "" {
			return fmt.Errorf("-url %q: want ws://HOST:PORT/PATH or wss://", s)
		}
	}
	switch {
	case cfg.N < 1:
		return errors.New("-n must be at least 1")
	case cfg.Users < 1:
		return errors.New("-users must be at least 1")
	case cfg.Rate <= 0:
		return errors.New("-rate must be positive")
	case cfg.Duration <= 0:
		return errors.New("-duration must be positive: it is what stops the run")
	case cfg.Warmup < 0 || cfg.Warmup >= cfg.Duration:
		return errors.New("-warmup must be at least 0 and shorter than -duration")
	case cfg.ConnTimeout <= 0:
		return errors.New("-connect-timeout must be positive")
	case cfg.Subscribe < 0:
		return errors.New("-subscribe must not be negative")
	case cfg.Subscribe > 0 && cfg.SubscribeAll:
		return errors.New("give -subscribe or -subscribe-all, not both")
	case cfg.Subscribe >= cfg.Users:
		return fmt.Errorf("-subscribe %d: there are only %d other users", cfg.Subscribe, cfg.Users-1)
	case cfg.Churn < 0 || cfg.Churn > 10:
		return errors.New("-churn must be 0..10 (changes per user per second)")
	}
	if err := wire.CheckUserID(cfg.UserPrefix + strconv.Itoa(cfg.Users)); err != nil {
		return fmt.Errorf("-user-prefix: %w", err)
	}
	if cfg.SourceIPs != "" && cfg.SourceIPs != "none" {
		if _, err := parseSourceIPs(cfg.SourceIPs); err != nil {
			return fmt.Errorf("-source-ips: %w", err)
		}
	}
	return nil
}

// sources returns the local addresses to connect from, in turn; a single
// zero Addr means the kernel's choice.
func (cfg *loadConfig) sources() []netip.Addr {
	switch cfg.SourceIPs {
	case "none":
		return []netip.Addr{{}}
	case "":
		for _, s := range cfg.URLs {
			u, _ := url.Parse(s)
			if !isLoopbackHost(u.Hostname()) {
				return []netip.Addr{{}}
			}
		}
		return autoSourceIPs(cfg.N)
	}
	a, _ := parseSourceIPs(cfg.SourceIPs) // checked
	return a
}

// runLoad is `presencectl load`.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, cfg, err := parseLoadFlags(args, stderr)
	if err != nil {
		return usageError(fs, err)
	}
	files, err := raiseFileLimit()
	if err != nil {
		return fail(stderr, err)
	}
	if uint64(cfg.N)+spareFiles > files {
		return fail(stderr, fmt.Errorf("load: -n %d needs %d open files and the limit is %d; lower -n to at most %d, or run several presencectl",
			cfg.N, cfg.N+spareFiles, files, max(0, int64(files)-spareFiles)))
	}
	l := newLoader(cfg, stderr)
	sum, err := l.run(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	human := stdout
	if cfg.JSON {
		human = stderr
	}
	sum.print(human)
	if cfg.JSON {
		fmt.Fprintf(stdout, "%s\n", wire.Encode(sum))
	}
	if sum.Connected == 0 {
		fmt.Fprintln(stderr, "presencectl: load: no connection succeeded")
		return exitFail
	}
	return exitOK
}

// loader is one load run. Each open connection has one goroutine, its
// reader, which reports events to the loader's counters.
type loader struct {
	cfg        loadConfig
	stderr     io.Writer
	sources    []netip.Addr
	transports []*http.Transport // one per source
	clients    []*http.Client

	start   time.Time
	conns   []atomic.Pointer[conn] // by connection index, once connected
	devToks map[tokenKey]string    // filled before connecting; read-only after

	connected, failed, cancelled atomic.Int64
	firstConnect, lastConnect    atomic.Int64 // Unix ns
	connectLat, presenceLat      histogram
	ackLat                       histogram // set_status sent to its result read

	sent, acked, refused atomic.Int64 // status changes
	enabledAt            atomic.Int64 // Unix ns of the latest service event "enabled"
	events               [len(eventTypes)]atomic.Int64

	mu       sync.Mutex
	failures map[string]int
	refusals map[string]int
	services []serviceSeen
}

// tokenKey is a dev token's user on one target: each dev server signs with
// its own secret.
type tokenKey struct{ target, user int }

// eventTypes are the frames counted by type; the last is everything else.
var eventTypes = [...]string{wire.TypePresence, wire.TypeService, wire.TypeStatuses, wire.TypeNotice,
	wire.TypeResult, wire.TypeError, wire.TypePong, "other"}

// serviceSeen is one service state seen, from welcomes and service events.
type serviceSeen struct {
	State       string  `json:"state"`
	Reason      *string `json:"reason"`
	Connections int     `json:"connections"`  // the most told with this state
	Limit       *int    `json:"limit"`        // as last told
	FirstSeenS  float64 `json:"first_seen_s"` // since the start
	Seen        int     `json:"seen"`         // times told
}

func newLoader(cfg loadConfig, stderr io.Writer) *loader {
	l := &loader{
		cfg:      cfg,
		stderr:   stderr,
		sources:  cfg.sources(),
		conns:    make([]atomic.Pointer[conn], cfg.N),
		failures: make(map[string]int),
		refusals: make(map[string]int),
	}
	for _, src := range l.sources {
		tr := newTransport(src)
		l.transports = append(l.transports, tr)
		l.clients = append(l.clients, &http.Client{Transport: tr})
	}
	return l
}

// run connects, churns and measures until the duration is over or ctx is
// cancelled, then closes every connection.
func (l *loader) run(ctx context.Context) (*loadSummary, error) {
	l.start = time.Now()
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Duration)
	defer cancel()
	defer func() {
		for _, tr := range l.transports {
			tr.CloseIdleConnections()
		}
	}()
	if bound := perSource * len(l.sources); l.sources[0].IsValid() && l.cfg.N > bound {
		fmt.Fprintf(l.stderr, "presencectl: load: %d connections over %d source addresses may run out of ports (about %d each)\n",
			l.cfg.N, len(l.sources), perSource)
	}
	if l.cfg.Secret == "" {
		if err := l.fetchDevTokens(ctx); err != nil {
			return nil, err
		}
	}

	var bg sync.WaitGroup
	bgCtx, stopBg := context.WithCancel(ctx)
	bg.Go(func() { l.progress(bgCtx) })
	if l.cfg.Churn > 0 {
		bg.Go(func() { l.churn(bgCtx) })
	}

	l.connectAll(ctx)
	if l.connected.Load() == 0 {
		cancel() // nothing to hold or measure
	}
	<-ctx.Done()
	stopBg()
	bg.Wait()

	sum := l.summary()
	l.closeAll()
	return sum, nil
}

// connectAll starts the connects at the configured rate and waits for
// them to end.
func (l *loader) connectAll(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxInflight)
	interval := time.Duration(float64(time.Second) / l.cfg.Rate)
	t := time.NewTimer(0)
	defer t.Stop()
	for i := range l.cfg.N {
		select {
		case <-t.C:
		case <-ctx.Done():
			l.cancelled.Add(int64(l.cfg.N - i))
			wg.Wait()
			return
		}
		t.Reset(time.Until(l.start.Add(time.Duration(i+1) * interval)))
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			l.cancelled.Add(int64(l.cfg.N - i))
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			l.connect(ctx, i)
		})
	}
	wg.Wait()
}

// user is the id of user u.
func (l *loader) user(u int) string { return l.cfg.UserPrefix + strconv.Itoa(u) }

// connect opens connection i: hello, subscribe, then leave it to its
// reader.
func (l *loader) connect(ctx context.Context, i int) {
	u, target, src := i%l.cfg.Users, i%len(l.cfg.URLs), i%len(l.clients)
	tok := l.devToks[tokenKey{target, u}]
	if l.cfg.Secret != "" {
		var err error
		tok, err = mintToken(l.cfg.Secret, l.user(u), "Load "+strconv.Itoa(u), false, l.cfg.Duration+time.Hour)
		if err != nil {
			l.fail(err)
			return
		}
	}
	t0 := time.Now()
	l.firstConnect.CompareAndSwap(0, t0.UnixNano())
	cctx, cancel := context.WithTimeout(ctx, l.cfg.ConnTimeout)
	defer cancel()
	c, w, err := dial(cctx, l.cfg.URLs[target], tok, dialOptions{HTTPClient: l.clients[src], OnEvent: l.onEvent, OnPresence: l.onPresence})
	if err == nil {
		l.seeService(w.Service.State, w.Service.Reason, w.Service.Connections, w.Service.Limit)
		err = l.subscribe(cctx, c, u)
		if err != nil {
			c.closeNow()
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			l.cancelled.Add(1) // the run ended first
			return
		}
		l.fail(err)
		return
	}
	now := time.Now()
	l.connectLat.record(now.Sub(t0))
	l.conns[i].Store(c)
	l.connected.Add(1)
	l.lastConnect.Store(now.UnixNano())
}

// subscribe subscribes connection c of user u to its share of the others.
func (l *loader) subscribe(ctx context.Context, c *conn, u int) error {
	if l.cfg.SubscribeAll {
		_, err := c.request(ctx, wire.Command{Type: wire.TypeSubscribe, All: true})
		return wrapOnce("subscribe", err)
	}
	for j := 0; j < l.cfg.Subscribe; j += wire.MaxUsers {
		ids := make([]string, 0, min(wire.MaxUsers, l.cfg.Subscribe-j))
		for k := j; k < l.cfg.Subscribe && len(ids) < wire.MaxUsers; k++ {
			ids = append(ids, l.user((u+1+k)%l.cfg.Users))
		}
		if _, err := c.request(ctx, wire.Command{Type: wire.TypeSubscribe, Users: ids}); err != nil {
			return wrapOnce("subscribe", err)
		}
	}
	return nil
}

func wrapOnce(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}

// fetchDevTokens gets a token from /dev/token for every user on every
// target it connects to, a few at a time.
func (l *loader) fetchDevTokens(ctx context.Context) error {
	keys := make(map[tokenKey]struct{})
	for i := range l.cfg.N {
		keys[tokenKey{i % len(l.cfg.URLs), i % l.cfg.Users}] = struct{}{}
	}
	if len(keys) > 100 {
		fmt.Fprintf(l.stderr, "presencectl: load: fetching %d dev tokens\n", len(keys))
	}
	l.devToks = make(map[tokenKey]string, len(keys))
	work := make(chan tokenKey)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range 16 {
		wg.Go(func() {
			for k := range work {
				tok, err := fetchDevToken(ctx, l.clients[0], l.cfg.URLs[k.target], l.user(k.user), false)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				l.devToks[k] = tok
				mu.Unlock()
			}
		})
	}
	for k := range keys {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		work <- k
	}
	close(work)
	wg.Wait()
	return wrapOnce("load", firstErr)
}

// onEvent counts a frame that is not a reply to a pending request. Every
// connection's reader calls it.
func (l *loader) onEvent(f *wire.Frame) {
	now := time.Now()
	l.countEvent(f.Type)
	switch f.Type {
	case wire.TypePresence:
		for i := range f.Users {
			l.seeEntry(now, f.Users[i].Status, f.Users[i].Text)
		}
	case wire.TypeService:
		l.seeService(f.State, f.Reason, f.Connections, f.Limit)
		if f.State == "enabled" {
			for {
				old := l.enabledAt.Load()
				if old >= now.UnixNano() || l.enabledAt.CompareAndSwap(old, now.UnixNano()) {
					break
				}
			}
		}
	case wire.TypeResult:
		l.acked.Add(1) // only status changes are sent without waiting
		if f.Self != nil {
			if sent, ok := parseMarker(f.Self.Text); ok {
				l.ackLat.record(time.Duration(now.UnixNano() - sent))
			}
		}
	case wire.TypeError:
		l.refused.Add(1)
		l.mu.Lock()
		l.refusals[f.Code]++
		l.mu.Unlock()
	}
}

// onPresence counts a presence frame read lean (the usual way).
func (l *loader) onPresence(es []leanEntry) {
	now := time.Now()
	l.countEvent(wire.TypePresence)
	for _, e := range es {
		l.seeEntry(now, e.Status, e.Text)
	}
}

// seeEntry records the presence latency of a churned change read at now.
func (l *loader) seeEntry(now time.Time, status, text string) {
	if status != "busy" && status != "away" {
		return // not a churned change: offline keeps the last text
	}
	sent, ok := parseMarker(text)
	// Ignore texts from earlier runs, and snapshots that follow the
	// service being turned on again.
	if ok && sent >= l.start.Add(l.cfg.Warmup).UnixNano() && sent >= l.enabledAt.Load() {
		l.presenceLat.record(time.Duration(now.UnixNano() - sent))
	}
}

func (l *loader) countEvent(typ string) {
	for i, t := range eventTypes[:len(eventTypes)-1] {
		if t == typ {
			l.events[i].Add(1)
			return
		}
	}
	l.events[len(eventTypes)-1].Add(1)
}

// markerPrefix starts the status text of a churned status; the rest is
// the Unix time it was sent, in nanoseconds.
const markerPrefix = "lt "

func marker(t time.Time) string { return markerPrefix + strconv.FormatInt(t.UnixNano(), 10) }

func parseMarker(text string) (int64, bool) {
	s, ok := strings.CutPrefix(text, markerPrefix)
	if !ok {
		return 0, false
	}
	ns, err := strconv.ParseInt(s, 10, 64)
	return ns, err == nil
}

// seeService records a service state told by the server.
func (l *loader) seeService(state string, reason *string, conns int, limit *int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s *serviceSeen
	for i := range l.services {
		if l.services[i].State == state && ptrEqual(l.services[i].Reason, reason) {
			s = &l.services[i]
		}
	}
	if s == nil {
		l.services = append(l.services, serviceSeen{State: state, Reason: reason,
			FirstSeenS: time.Since(l.start).Seconds()})
		s = &l.services[len(l.services)-1]
	}
	s.Seen++
	s.Connections, s.Limit = max(s.Connections, conns), limit
}

// finalService is the service state that most open connections (or, with
// none open, most connections) were told last, as recorded by seeService;
// nil before any. Each connection hears the changes in order, but the
// connections are read concurrently: the state recorded last across all
// of them can be an early welcome's, read after a later change.
func (l *loader) finalService() *serviceSeen {
	open, all := map[string]int{}, map[string]int{}
	for i := range l.conns {
		c := l.conns[i].Load()
		if c == nil {
			continue
		}
		if sv := c.service.Load(); sv != nil {
			k := serviceString(sv.State, sv.Reason)
			all[k]++
			if ended, _, _ := c.ended(); !ended {
				open[k]++
			}
		}
	}
	counts := open
	if len(open) == 0 {
		counts = all
	}
	best, most := "", 0
	for k, n := range counts {
		if n > most {
			best, most = k, n
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.services {
		if most > 0 && serviceString(s.State, s.Reason) == best {
			return &s
		}
	}
	return nil
}

func ptrEqual[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// fail counts a connect that failed, by reason.
func (l *loader) fail(err error) {
	l.failed.Add(1)
	r := failReason(err)
	l.mu.Lock()
	l.failures[r]++
	l.mu.Unlock()
}

// churn makes the configured share of users change status every second,
// alternating busy and away so that every change is one, with a text that
// says when it was sent.
func (l *loader) churn(ctx context.Context) {
	const tick = 100 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	perTick := l.cfg.Churn * float64(l.cfg.Users) * tick.Seconds()
	// The first connection of each user changes its status.
	holders := min(l.cfg.Users, l.cfg.N)
	busy := make([]bool, holders)
	var acc float64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for acc += perTick; acc >= 1; acc-- {
			u := rand.IntN(holders)
			c := l.conns[u].Load()
			if c == nil {
				continue
			}
			if ended, _, _ := c.ended(); ended {
				continue
			}
			busy[u] = !busy[u]
			st := "away"
			if busy[u] {
				st = "busy"
			}
			text := marker(time.Now())
			if err := c.send(ctx, wire.Command{Type: wire.TypeSetStatus, ID: "s", Status: st, Text: &text}); err == nil {
				l.sent.Add(1)
			}
		}
	}
}

// progress prints a line to standard error once a second.
func (l *loader) progress(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var open int
		var frames int64
		for i := range l.conns {
			if c := l.conns[i].Load(); c != nil {
				frames += c.frames.Load()
				if ended, _, _ := c.ended(); !ended {
					open++
				}
			}
		}
		svc := "unknown"
		if f := l.finalService(); f != nil {
			svc = serviceString(f.State, f.Reason)
		}
		l.mu.Lock()
		fails := countsString(l.failures)
		l.mu.Unlock()
		line := fmt.Sprintf("presencectl: load %4.0fs connected %d/%d open %d failed %d",
			time.Since(l.start).Seconds(), l.connected.Load(), l.cfg.N, open, l.failed.Load())
		if fails != "" {
			line += " (" + fails + ")"
		}
		line += fmt.Sprintf(" service %s frames %d", svc, frames)
		if l.cfg.Churn > 0 {
			line += fmt.Sprintf(" changes %d latency %d p50 %.1fms p99 %.1fms", l.sent.Load(),
				l.presenceLat.count(), ms(l.presenceLat.quantile(0.5)), ms(l.presenceLat.quantile(0.99)))
		}
		fmt.Fprintln(l.stderr, line)
	}
}

// closeAll closes every open connection with 1000, a few hundred at once.
func (l *loader) closeAll() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for i := range l.conns {
		c := l.conns[i].Load()
		if c == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.close()
		})
	}
	wg.Wait()
}
