// Command presenced is the presence hub: it tells a workspace who is online,
// away, busy or offline, in real time, over WebSocket.
//
// Every flag can also be set from the environment as PRESENCE_ + the flag's
// name in upper case with dashes as underscores (PRESENCE_JWT_SECRET); a
// flag given on the command line wins. See README.md for the table.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/presenced/presenced/cluster"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/boltstore"
	"github.com/presenced/presenced/store/redisstore"
	"github.com/presenced/presenced/web"
	"github.com/presenced/presenced/web/api"
	"github.com/presenced/presenced/web/wire"
	"github.com/presenced/presenced/webhook"
)

// config is what the flags say.
type config struct {
	addr           string
	dev            bool
	data           string
	redis          string
	secret         string
	apiKey         string
	edition        string
	limit          int
	idleLimit      time.Duration
	heartbeat      time.Duration
	offlineGrace   time.Duration
	allowedOrigins string
	adminAddr      string
	nodeID         string
	nodeName       string
	nodeTTL        time.Duration
	auth           authConfig
	webhook        webhook.Config
	logLevel       zerolog.Level
	version        bool // print the version and exit
	checkConfig    bool // check the configuration and exit

	// idleLimitGiven: -idle-limit came from the command line or the
	// environment, and wins over a setting an admin saved.
	idleLimitGiven bool
	connsPerUser   int
	pendingPerSrc  int
	redisReplicas  int
	redisReplicaTO time.Duration
}

func main() {
	// UTC with milliseconds in every log line: the process has one log
	// format, and zerolog keeps it in globals.
	zerolog.TimeFieldFormat = logTimeFormat
	zerolog.TimestampFunc = func() time.Time { return time.Now().UTC() }
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "presenced:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	cfg := config{logLevel: zerolog.InfoLevel}
	fs := flag.NewFlagSet("presenced", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.BoolVar(&cfg.dev, "dev", false, "dev mode: mint tokens at /dev/token, pretty logs")
	fs.StringVar(&cfg.data, "data", "./data", "folder of the embedded store")
	fs.StringVar(&cfg.redis, "redis", "", "Redis URL: redis://host:6379/0 (rediss:// for TLS), redis+sentinel://h1:26379,h2:26379/MASTER[/DB] or redis+cluster://h1:6379,h2:6379; when set, Redis is the store")
	fs.IntVar(&cfg.redisReplicas, "redis-replicas", 0, "with -redis: replicas that must acknowledge each durable write (WAIT); 0: one when the master has replicas, -1: never wait")
	fs.DurationVar(&cfg.redisReplicaTO, "redis-replica-timeout", redisstore.DefaultReplicaTimeout, "with -redis: how long a durable write waits for its replicas before it fails")
	fs.StringVar(&cfg.secret, "jwt-secret", "", "HS256 secret of the tokens; one of -jwt-secret, -jwks-url or -dev is required")
	fs.StringVar(&cfg.apiKey, "api-key", "", "server API key for the HTTP API, 32+ characters: acts as an admin and for any user (empty: only users' tokens)")
	fs.StringVar(&cfg.edition, "edition", "free", "free or enterprise")
	fs.IntVar(&cfg.limit, "connection-limit", hub.FreeLimit, "free edition: connection limit, at most 200")
	fs.DurationVar(&cfg.idleLimit, "idle-limit", 5*time.Minute, "workspace default idle limit, "+minIdle.String()+".."+maxIdle.String()+"; wins over the one an admin saved")
	fs.DurationVar(&cfg.heartbeat, "heartbeat", 10*time.Second, "server ping interval; silent for 2.5 of them is dead")
	fs.DurationVar(&cfg.offlineGrace, "offline-grace", 5*time.Second, "how long a user whose last connection closed keeps their status (0: off)")
	fs.StringVar(&cfg.allowedOrigins, "allowed-origins", "", "comma-separated extra origin patterns for browsers on other hosts")
	fs.StringVar(&cfg.adminAddr, "admin-addr", "127.0.0.1:9090", "metrics and pprof listener (empty: off)")
	fs.StringVar(&cfg.nodeID, "node-id", "", "this node's identity in the cluster (with -redis); default: a new uuid per run")
	fs.StringVar(&cfg.nodeName, "node-name", "", "this node's advertised name in logs; default: host name and port")
	fs.DurationVar(&cfg.nodeTTL, "node-ttl", 8*time.Second, "with -redis: a node silent this long is dead and its connections are dropped")
	authFlags(fs, &cfg.auth)
	cfg.webhook.AddFlags(fs)
	fs.Func("log-level", "debug, info (default), warn or error", func(v string) error {
		l, err := zerolog.ParseLevel(v)
		if err != nil || v == "" || l > zerolog.ErrorLevel {
			return errors.New("must be debug, info, warn or error")
		}
		cfg.logLevel = l
		return nil
	})
	fs.BoolVar(&cfg.version, "version", false, "print the version and exit")
	fs.BoolVar(&cfg.checkConfig, "check-config", false, "check flags, environment and the store's reachability, then exit 0 (valid) or 1")
	fs.IntVar(&cfg.connsPerUser, "max-conns-per-user", 0, "one user's connections on this node, past which they are refused (default: 20 free, 250 enterprise)")
	fs.IntVar(&cfg.pendingPerSrc, "max-pending-per-source", web.DefaultMaxPendingPerSource, "connections not signed in yet from one address (0: no cap; raise it behind a proxy)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if err := envDefaults(fs); err != nil {
		return cfg, err
	}
	fs.Visit(func(f *flag.Flag) { cfg.idleLimitGiven = cfg.idleLimitGiven || f.Name == "idle-limit" })
	if cfg.version {
		return cfg, nil
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.edition != string(hub.Free) && cfg.edition != string(hub.Enterprise):
		return cfg, fmt.Errorf("-edition must be free or enterprise, not %q", cfg.edition)
	case cfg.limit < 1 || cfg.limit > hub.FreeLimit:
		return cfg, fmt.Errorf("-connection-limit must be 1..%d: it may lower the free edition's limit, never raise it", hub.FreeLimit)
	case cfg.idleLimit < minIdle || cfg.idleLimit > maxIdle:
		return cfg, fmt.Errorf("-idle-limit must be %v..%v, as in admin.settings, not %v", minIdle, maxIdle, cfg.idleLimit)
	case cfg.heartbeat < 100*time.Millisecond:
		return cfg, errors.New("-heartbeat must be 100ms or more")
	case cfg.connsPerUser < 0:
		return cfg, errors.New("-max-conns-per-user must be 0 (the default) or more")
	case cfg.pendingPerSrc < 0:
		return cfg, errors.New("-max-pending-per-source must be 0 (no cap) or more")
	case cfg.offlineGrace < 0:
		return cfg, errors.New("-offline-grace must be 0 (off) or more")
	case cfg.nodeTTL < time.Second:
		return cfg, errors.New("-node-ttl must be 1s or more")
	case cfg.redisReplicaTO <= 0:
		return cfg, errors.New("-redis-replica-timeout must be positive")
	case cfg.redis != "" && !strings.Contains(cfg.redis, "://"):
		return cfg, fmt.Errorf("-redis must be a URL: did you mean redis://%s/0?", cfg.redis)
	case cfg.apiKey != "" && utf8.RuneCountInString(cfg.apiKey) < api.MinKeyLen:
		return cfg, fmt.Errorf("-api-key must be at least %d characters", api.MinKeyLen)
	}
	if err := checkAuth(cfg); err != nil {
		return cfg, err
	}
	if err := checkWebhook(&cfg.webhook); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// The idle limit's range, the same as admin.settings' and set_prefs'.
const (
	minIdle = wire.MinIdleS * time.Second
	maxIdle = wire.MaxIdleS * time.Second
)

// minSecret is the shortest HS256 secret that is not a warning: RFC 7518
// asks for a key as long as the hash, 32 bytes.
const minSecret = 32

// logTimeFormat is RFC 3339 in UTC with milliseconds.
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// envDefaults sets every flag not given on the command line from its
// PRESENCE_ variable, if set.
func envDefaults(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "PRESENCE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(env)
		if given[f.Name] || !ok || err != nil {
			return
		}
		// fs.Set, not f.Value.Set: fs.Visit then counts it as given.
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("%s=%q: %w", env, v, e)
		}
	})
	return err
}

func newLogger(dev bool, level zerolog.Level, w io.Writer) zerolog.Logger {
	if dev {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// openStore opens the store: on Redis, one client that the store and the
// cluster backplane share (nil with the embedded store).
func openStore(ctx context.Context, cfg config) (store.Store, redis.UniversalClient, error) {
	if cfg.redis == "" {
		st, err := boltstore.Open(cfg.data, boltstore.Options{})
		return st, nil, err
	}
	rdb, err := redisstore.Dial(ctx, cfg.redis, redisstore.DialOptions{})
	if err != nil {
		return nil, nil, err
	}
	st, err := redisstore.New(rdb, redisstore.Options{Replicas: cfg.redisReplicas, ReplicaTimeout: cfg.redisReplicaTO})
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return st, rdb, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	log := newLogger(cfg.dev, cfg.logLevel, stderr)
	// go-redis logs every failed dial on its own; the store and the cluster
	// log one line per outage instead.
	redis.SetLogger(redisLog{log.With().Str("component", "redis").Logger()})
	switch {
	case errors.Is(err, flag.ErrHelp):
		return nil
	case cfg.version:
		fmt.Fprintln(stdout, version())
		return nil
	case cfg.checkConfig:
		return checkConfig(cfg, err, stdout)
	case err != nil:
		return err
	}
	secret := []byte(cfg.secret)
	if w := secretWarning(cfg); w != "" {
		log.Warn().Msg(w)
	}
	if cfg.dev {
		log.Warn().Msg("dev mode: anyone can mint a token at /dev/token; never run it like this in production")
		if len(secret) == 0 {
			secret = make([]byte, 32)
			rand.Read(secret)
		}
	}

	verifier, err := newVerifier(cfg, secret, log.With().Str("component", "auth").Logger())
	if err != nil {
		return err
	}
	// The identity provider's keys load in the background: the hub starts
	// even while they cannot, and /readyz says why.
	authCtx, stopAuth := context.WithCancel(context.Background())
	authDone := make(chan struct{})
	go func() { verifier.Run(authCtx); close(authDone) }()
	defer func() { stopAuth(); <-authDone }()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	st, rdb, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	kind, metricsNode := "bolt", ""
	if cfg.nodeName == "" {
		host, _ := os.Hostname()
		cfg.nodeName = host + cfg.addr[strings.LastIndex(cfg.addr, ":"):]
	}
	if rdb != nil {
		defer rdb.Close()                         // shared: the store and the node are done with it when run returns
		kind, metricsNode = "redis", cfg.nodeName // one node of several, maybe
	}
	metrics := web.NewMetrics(metricsNode)
	observed := store.Observe(st, metrics)

	maxConns := connCapacity(log)
	hcfg := hub.Config{
		Store:     observed,
		Log:       log.With().Str("component", "hub").Logger(),
		Edition:   hub.Edition(cfg.edition),
		Limit:     cfg.limit,
		IdleLimit: cfg.idleLimit,

		IdleLimitExplicit: cfg.idleLimitGiven,
		OfflineGrace:      cfg.offlineGrace,
	}
	hcfg.MaxConnsPerUser = cfg.connsPerUser
	var node *cluster.Node
	if rdb != nil {
		// With Redis, this process is a node of a cluster (of one, maybe).
		if cfg.nodeID == "" {
			cfg.nodeID = uuid.NewString()
		}
		node = cluster.New(cluster.Config{Redis: rdb, Store: st, ID: cfg.nodeID, Name: cfg.nodeName, TTL: cfg.nodeTTL,
			Log: log.With().Str("component", "cluster").Logger()})
		hcfg.Backplane = node
		log = log.With().Str("node", cfg.nodeName).Logger()
	}
	hook, err := newWebhook(cfg, rdb, metrics, log)
	if err != nil {
		return err
	}
	if hook != nil {
		hcfg.Changes = hookSink{hook}
	}
	h := hub.New(hcfg)
	var origins []string
	if cfg.allowedOrigins != "" {
		origins = strings.Split(cfg.allowedOrigins, ",")
	}
	wcfg := web.Config{
		Hub:            h,
		Secret:         secret,
		Verifier:       verifier,
		Dev:            cfg.dev,
		Log:            log.With().Str("component", "web").Logger(),
		AllowedOrigins: origins,
		Heartbeat:      cfg.heartbeat,
		MaxConns:       maxConns,
		Metrics:        metrics,
		Addr:           cfg.addr,
	}
	if wcfg.MaxPendingPerSource = cfg.pendingPerSrc; cfg.pendingPerSrc == 0 {
		wcfg.MaxPendingPerSource = -1
	}
	if node != nil {
		wcfg.Cluster = node
	}
	httpAPI, err := api.New(api.Config{Hub: h, Verifier: verifier, APIKey: cfg.apiKey,
		Log: log.With().Str("component", "api").Logger()})
	if err != nil {
		return err
	}
	metrics.Registerer().MustRegister(httpAPI)
	wcfg.API = httpAPI
	srv := web.New(wcfg)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	var admin net.Listener
	if cfg.adminAddr != "" {
		if admin, err = net.Listen("tcp", cfg.adminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on -admin-addr %s: %w", cfg.adminAddr, err)
		}
	}

	// The webhook sender outlives the hub, so that it gets every change,
	// and then flushes its queue for up to 5 s.
	hookCtx, stopHook := context.WithCancel(context.Background())
	waitHook := runWebhook(hookCtx, hook)
	defer func() { stopHook(); waitHook() }()

	// The hub outlives the web server, so that connections closing at
	// shutdown are still taken out of the count and saved.
	hubCtx, stopHub := context.WithCancel(context.Background())
	defer stopHub()
	hubErr := make(chan error, 1)
	go func() { hubErr <- h.Run(hubCtx) }()
	select {
	case <-h.Ready():
	case err := <-hubErr:
		ln.Close()
		if admin != nil {
			admin.Close()
		}
		return err
	}

	clusterCtx, leave := context.WithCancel(context.Background())
	defer leave()
	clusterDone := make(chan struct{})
	if node != nil {
		go func() {
			defer close(clusterDone)
			if err := node.Run(clusterCtx, h); err != nil {
				log.Error().Err(err).Msg("this node is not part of the cluster")
			}
		}()
	} else {
		close(clusterDone)
	}

	url := "http://" + ln.Addr().String()
	ev := log.Info().Str("url", url).Str("store", kind)
	if rdb != nil {
		ev = ev.Str("redis", redactedURL(cfg.redis))
	} else {
		abs, _ := filepath.Abs(cfg.data)
		ev = ev.Str("data", abs)
	}
	ev = ev.Str("edition", cfg.edition)
	if cfg.edition == string(hub.Free) {
		ev = ev.Int("connection_limit", cfg.limit)
	}
	idle, _ := h.WorkspaceIdleLimit(ctx)
	ev.Stringer("idle_limit", idle).Stringer("heartbeat", cfg.heartbeat).Str("node_name", cfg.nodeName).
		Str("version", version()).Msg("presenced listening: open " + url + " in a browser")

	var wg sync.WaitGroup
	if admin != nil {
		as := &http.Server{Handler: srv.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() { as.Serve(admin) })
		log.Info().Str("addr", admin.Addr().String()).Msg("metrics at /metrics, pprof at /debug/pprof/")
		defer func() { as.Close(); wg.Wait() }()
	}
	err = srv.Serve(ctx, ln)
	log.Info().Msg("shutting down")
	leave() // after the sockets, so the others drop this node's users at once
	<-clusterDone
	stopHub()
	if herr := <-hubErr; err == nil {
		err = herr
	}
	return err
}

// connCapacity derives how many WebSockets this process may hold from its
// open-file limit (raised to the hard limit first), keeping room for the
// store, listeners and logs.
func connCapacity(log zerolog.Logger) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn().Err(err).Msg("cannot read the open-file limit: no connection cap")
		return 0
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	const spare = 100
	capacity := max(int(lim.Cur)-spare, 1)
	log.Info().Uint64("open_file_limit", lim.Cur).Int("max_connections", capacity).Msg("connection capacity of this process")
	return capacity
}

// redisLog keeps go-redis's own messages at debug level.
type redisLog struct{ log zerolog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug().Msgf(format, v...)
}
