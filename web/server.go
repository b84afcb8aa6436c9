package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/presenced/presenced/auth"
	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web/wire"
)

// static is the page. By pattern, not the whole folder: web/static is
// also the presence-client npm package, whose node_modules must never end
// up in the binary.
//
//go:embed static/*.html static/*.js static/*.css
var static embed.FS

// Config configures a Server. The zero value of each field means its default.
type Config struct {
	// Hub is the workspace's hub. Required.
	Hub *hub.Hub
	// Secret signs dev tokens, and checks tokens (HS256) when Verifier is
	// nil. Required unless Verifier is set.
	Secret []byte
	// Verifier checks the tokens of hello and refresh, and says when it is
	// not ready (/readyz). Default: HS256 with Secret.
	Verifier *auth.Verifier
	// Dev mints tokens at /dev/token and accepts tokens without exp.
	// Default: off.
	Dev bool
	// Log receives the server's logs. Default: no logs.
	Log zerolog.Logger
	// AllowedOrigins are origin patterns (as in websocket.AcceptOptions)
	// allowed besides the server's own origin. Default: none.
	AllowedOrigins []string
	// Heartbeat is the ping interval; a connection silent for 2.5 of them
	// is closed. Default: 10 s.
	Heartbeat time.Duration
	// AuthTimeout is how long a new connection has to send hello.
	// Default: 10 s.
	AuthTimeout time.Duration
	// FlushWindow is the least time between two presence frames to one
	// connection: a change that comes sooner after a frame (or during its
	// write) waits for the window to end and goes out with the others that
	// came meanwhile. A change to a connection with no frame that recent is
	// written at once. Default: DefaultFlushWindow.
	FlushWindow time.Duration
	// WriteTimeout bounds one frame's write; a client that takes longer is
	// too slow and is closed with 4009. Default: 10 s.
	WriteTimeout time.Duration
	// MaxQueued is how many replies and events may wait for one
	// connection; past it the connection is too slow (4009). Default: 1,024.
	MaxQueued int
	// RateLimit and RateBurst bound each connection's commands.
	// Default: 20/s with bursts of 40.
	RateLimit rate.Limit
	RateBurst int
	// AbuseRefusals is how many refused commands within AbuseWindow close
	// a connection with 4008. Default: 100 within 10 s.
	AbuseRefusals int
	AbuseWindow   time.Duration
	// Node names this node in metrics (a "node" label on each), when it is
	// one of several. Default: no label.
	Node string
	// MaxConns is the budget of connections Serve holds at once, every
	// kind counted (keep-alive HTTP, WebSockets in their hello, signed-in
	// WebSockets), so the process stays under its open-file limit. Half of
	// it is kept for signed-in connections: those not signed in yet may
	// hold the other half. A connection past the budget is answered HTTP
	// 503 and closed, once any idle keep-alive connection has been closed
	// to make room. Default: no budget.
	MaxConns int
	// Metrics are the server's metrics, made beforehand to observe the
	// store too (NewMetrics, store.Observe). Default: new ones, labelled
	// with Node.
	Metrics *Metrics
	// Cluster counts the backplane's messages and resyncs, for metrics.
	// Default: none, no cluster metrics.
	Cluster ClusterCounts
	// MaxPendingPerSource caps the connections not signed in yet (HTTP
	// and WebSockets before their hello) that one source address may hold
	// in Serve; past it a new one is answered HTTP 503. Behind a proxy
	// every client has the proxy's address: raise it or turn it off.
	// Default: DefaultMaxPendingPerSource; negative: no cap.
	MaxPendingPerSource int
	// PressureAuthTimeout replaces AuthTimeout, when shorter, for
	// connections accepted while the node is under pressure (three quarters
	// of MaxConns spent, or half the share of connections not signed in),
	// so that silent sockets cannot hold it. Default: 2 s.
	PressureAuthTimeout time.Duration
	// Addr is the address the server was asked to listen on: its host,
	// besides IP addresses, localhost and the hosts of AllowedOrigins, is
	// one the Host header may name (a check against DNS rebinding).
	// Default: the listener's address.
	Addr string
	// HTTPIdleTimeout closes a keep-alive HTTP connection idle this long:
	// it holds a file descriptor like any other. Default: 30 s.
	HTTPIdleTimeout time.Duration
	// AbuseLogEvery is how often the log may say, per kind of abuse (bad
	// hellos, hello timeouts, oversized frames, rate-limit closes, refused
	// connections), how many there were and from where. Default: 10 s.
	AbuseLogEvery time.Duration
	// API is the HTTP API for backends (web/api), served under /api/ on
	// the same listener. Its metrics are its own to register (see
	// Metrics.Registerer). Default: none.
	API http.Handler
}

// DefaultFlushWindow is Config.FlushWindow's default: shorter than the
// gap between a person's status changes, so those go out at once, and
// long enough to fold a burst (a team arriving, a reconnect storm) into a
// frame or two.
const DefaultFlushWindow = time.Millisecond

// DefaultMaxPendingPerSource is how many connections not signed in yet one
// address may hold by default. A connection is pending for its hello at
// most (10 s, 2 s under pressure), and many users share an address behind
// a NAT or a proxy: an office of a few hundred reconnecting at once after a
// deploy, or a load test's parallel handshakes, must not be refused, while
// one address still cannot take the whole pending share (half the budget).
const DefaultMaxPendingPerSource = 1000

// maxHeaderBytes bounds a request's headers: tokens travel in the hello
// frame, not in headers, and net/http's default is 1 MiB.
const maxHeaderBytes = 16 << 10

// Server serves the protocol over HTTP. Create it with New.
type Server struct {
	cfg      Config
	log      zerolog.Logger
	verifier *auth.Verifier
	metrics  *Metrics
	guard    *guard
	abuse    *abuseLog
	beats    *heartbeats

	upgrades atomic.Int64 // WebSocket connections accepted, ever
	release  func()       // returns freed memory after a burst; nil: debug.FreeOSMemory

	mu    sync.Mutex
	conns map[*conn]struct{}
	wg    sync.WaitGroup // goroutines of open connections

	// stopping ends when the server shuts down: connections still in
	// their hello give up, the others are closed by closeAll.
	stopping context.Context
	stop     context.CancelFunc
}

// New returns a server for cfg, with defaults filled in.
func New(cfg Config) *Server {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Heartbeat, 10*time.Second)
	def(&cfg.AuthTimeout, 10*time.Second)
	def(&cfg.FlushWindow, DefaultFlushWindow)
	def(&cfg.WriteTimeout, 10*time.Second)
	def(&cfg.AbuseWindow, 10*time.Second)
	def(&cfg.PressureAuthTimeout, 2*time.Second)
	def(&cfg.AbuseLogEvery, 10*time.Second)
	def(&cfg.HTTPIdleTimeout, 30*time.Second)
	if cfg.MaxPendingPerSource == 0 {
		cfg.MaxPendingPerSource = DefaultMaxPendingPerSource
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 1024
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit, cfg.RateBurst = 20, 40
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = int(2 * cfg.RateLimit)
	}
	if cfg.AbuseRefusals <= 0 {
		cfg.AbuseRefusals = 100
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(cfg.Node)
	}
	cfg.Metrics.register(cfg.Hub, cfg.Cluster)
	s := &Server{
		cfg:      cfg,
		log:      cfg.Log,
		verifier: cfg.Verifier,
		metrics:  cfg.Metrics,
		conns:    make(map[*conn]struct{}),
		abuse:    newAbuseLog(cfg.Log, cfg.AbuseLogEvery),
		beats:    newHeartbeats(cfg.Heartbeat),
	}
	if s.verifier == nil {
		s.verifier = newVerifier(cfg)
	}
	s.guard = newGuard(cfg.MaxConns, max(cfg.MaxPendingPerSource, 0),
		func(reason string, src netip.Addr) {
			s.metrics.connsRefused.WithLabelValues(reason).Inc()
			s.abuse.note(reason, src.String())
		},
		func() { s.metrics.idleClosed.Inc() })
	s.stopping, s.stop = context.WithCancel(context.Background())
	return s
}

// Handler serves the page, /ws, the health endpoints, the HTTP API when
// there is one and, in dev mode, /dev/token.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	page, _ := fs.Sub(static, "static")
	hosts := newHostCheck(s.cfg.Addr, s.cfg.AllowedOrigins)
	mux.Handle("GET /", hosts.wrap(http.FileServerFS(page)))
	mux.Handle("GET /ws", hosts.wrap(http.HandlerFunc(s.serveWS)))
	// Probes come from the platform, by whatever name it knows the node:
	// they tell nothing a rebinding page could use.
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.HandleFunc("GET /healthz", s.serveReady)
	if s.cfg.Dev {
		mux.Handle("GET /dev/token", loopbackOnly(http.HandlerFunc(s.serveDevToken)))
	}
	if s.cfg.API != nil {
		// One pattern per method: "/api/" alone would conflict with "GET /".
		// No Host check: every call carries a bearer token, which a page
		// that rebinds a name to this server cannot read or make.
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			mux.Handle(m+" /api/", s.cfg.API)
		}
	}
	return s.metrics.instrument(mux)
}

// AdminHandler serves /metrics and net/http/pprof, for the admin listener.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	registerPprof(mux)
	return mux
}

// serveReady answers 200 while the hub serves and its store and backplane
// answer, else 503 saying why.
func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	if why := s.cfg.Hub.Unready(); why != "" {
		http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
		return
	}
	if err := s.verifier.Ready(); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}

func (s *Server) serveDevToken(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if err := wire.CheckUserID(user); err != nil {
		http.Error(w, "user: "+protocolError(err).Message, http.StatusBadRequest)
		return
	}
	admin := r.URL.Query().Get("admin")
	tok, err := Mint(s.cfg.Secret, user, r.URL.Query().Get("name"), admin == "1" || admin == "true", 24*time.Hour)
	if err != nil {
		http.Error(w, "mint token: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"token": tok})
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	p := new(pinger)
	ws, err := websocket.Accept(smallBuffers{w, p}, r, &websocket.AcceptOptions{
		Subprotocols:   []string{wire.Subprotocol},
		OriginPatterns: s.cfg.AllowedOrigins,
	})
	if err != nil {
		s.metrics.refused.WithLabelValues("handshake").Inc()
		return // Accept has answered the request
	}
	s.upgrades.Add(1)
	ws.SetReadLimit(wire.MaxFrame)
	// The connection runs on a goroutine of its own and the handler
	// returns, so that net/http lets go of what it kept for the request
	// (its buffers, request and response state, and a stack grown by the
	// handshake): most of an idle connection's memory otherwise. Hijacked
	// connections are not waited for by http.Server.Shutdown either way;
	// Serve closes and joins them once they are tracked.
	s.mu.Lock()
	if s.conns == nil { // shutting down
		s.mu.Unlock()
		closeShutdown.close(ws)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	src := peer{addr: r.RemoteAddr, conn: guardedConnOf(r)}
	go func() {
		defer s.wg.Done()
		s.serveConn(s.stopping, ws, p, src)
	}()
}

// peer is where a WebSocket comes from: its address, and the counted
// connection it runs on (nil when not served by Serve).
type peer struct {
	addr string
	conn *guardedConn
}

// serveConn authenticates ws and runs it until it ends. Shutdown (stop)
// ends a hello in progress; an authenticated connection is closed by
// closeAll instead, with 1001.
func (s *Server) serveConn(stop context.Context, ws *websocket.Conn, p *pinger, src peer) {
	defer ws.CloseNow()
	ident, helloID, ok := s.hello(stop, ws, src.addr)
	if !ok {
		return
	}
	if src.conn != nil {
		src.conn.markSignedIn()
	}
	ctx := context.WithoutCancel(stop)
	c := &conn{srv: s, ws: ws, id: s.cfg.Hub.NewConnID(), ident: ident, session: uuid.NewString(), pinger: p, source: src.addr}
	if !s.track(c) {
		closeShutdown.close(ws)
		return
	}
	defer s.untrack(c)
	c.serve(ctx, helloID)
	c.wg.Wait()
}

// hello reads and checks the first frame. On failure it has closed ws.
func (s *Server) hello(ctx context.Context, ws *websocket.Conn, src string) (identity, string, bool) {
	timeout := s.cfg.AuthTimeout
	if s.guard.underPressure() {
		timeout = min(timeout, s.cfg.PressureAuthTimeout)
	}
	// Not a read deadline: coder/websocket drops the connection when a
	// read's context ends, and the client must learn 4002.
	timer := time.AfterFunc(timeout, func() {
		s.countClose(closeAuthTimeout)
		s.abuse.note("auth_timeout", src)
		closeAuthTimeout.close(ws)
	})
	typ, data, err := ws.Read(ctx)
	if fired := !timer.Stop(); fired || err != nil {
		if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
			s.abuse.note("too_big", src)
		}
		return identity{}, "", false
	}
	cmd, derr := wire.Decode(data)
	fail := func(msg string) (identity, string, bool) {
		s.metrics.errors.WithLabelValues(wire.CodeUnauthorized).Inc()
		s.countClose(closeUnauthorized)
		s.abuse.note("auth_failed", src)
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		ws.Write(wctx, websocket.MessageText, encodeError(cmd.ID, wire.CodeUnauthorized, msg))
		closeUnauthorized.close(ws)
		return identity{}, "", false
	}
	if typ != websocket.MessageText {
		return fail("the first frame must be hello with a token, in a text frame: the protocol has no binary frames")
	}
	if cmd.Type != wire.TypeHello {
		return fail("the first frame must be hello with a token")
	}
	if derr != nil {
		return fail(protocolError(derr).Message)
	}
	ident, err := s.verify(ctx, cmd.Token)
	if err != nil {
		return fail(err.Error())
	}
	return ident, cmd.ID, true
}

func (s *Server) countClose(r closeReason) {
	s.metrics.closes.WithLabelValues(r.metric()).Inc()
	if r == closeTooSlow {
		s.metrics.slowConsumers.Inc()
	}
}

// track adds c to the open connections, unless the server is shutting down.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Serve serves ln until ctx is done, then shuts down: it stops accepting,
// closes every WebSocket with 1001 and waits for their handlers, for at
// most 4 s in all, and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.Addr == "" {
		s.cfg.Addr = ln.Addr().String()
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       s.cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnContext:       withConn,
		ConnState:         s.guard.state,
		ErrorLog:          newStdLog(s.log),
	}
	defer s.abuse.stop()
	defer s.guard.wait()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(guardedListener{Listener: ln, g: s.guard}) }()
	rctx, stopReleasing := context.WithCancel(ctx)
	released := make(chan struct{})
	go func() { defer close(released); s.releaseAfterBursts(rctx) }()
	defer func() { stopReleasing(); <-released }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx) // stops accepting; hijacked WebSockets are ours to close
	s.closeAll(sctx)
	<-errc
	s.beats.stop()
	if errors.Is(err, context.DeadlineExceeded) {
		hs.Close()
	}
	return nil
}

// closeAll closes every WebSocket with 1001 and waits for their handlers
// until ctx ends, then drops the rest.
func (s *Server) closeAll(ctx context.Context) {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil // track refuses from now on
	s.mu.Unlock()
	s.stop()
	for c := range conns {
		c.Close(hub.CloseShutdown)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		for c := range conns {
			c.ws.CloseNow()
		}
		<-done
	}
}
