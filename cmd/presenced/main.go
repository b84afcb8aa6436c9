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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/presenced/presenced/cluster"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/boltstore"
	"github.com/presenced/presenced/store/redisstore"
	"github.com/presenced/presenced/web"
)

// config is what the flags say.
type config struct {
	addr           string
	dev            bool
	data           string
	redis          string
	secret         string
	edition        string
	limit          int
	idleLimit      time.Duration
	heartbeat      time.Duration
	allowedOrigins string
	adminAddr      string
	nodeID         string
	nodeName       string
	nodeTTL        time.Duration
	redisReplicas  int
	redisReplicaTO time.Duration
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "presenced:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("presenced", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.BoolVar(&cfg.dev, "dev", false, "dev mode: mint tokens at /dev/token, pretty logs")
	fs.StringVar(&cfg.data, "data", "./data", "folder of the embedded store")
	fs.StringVar(&cfg.redis, "redis", "", "Redis URL: redis://host:6379/0 (rediss:// for TLS), redis+sentinel://h1:26379,h2:26379/MASTER[/DB] or redis+cluster://h1:6379,h2:6379; when set, Redis is the store")
	fs.IntVar(&cfg.redisReplicas, "redis-replicas", 0, "with -redis: replicas that must acknowledge each durable write (WAIT); 0: one when the master has replicas, -1: never wait")
	fs.DurationVar(&cfg.redisReplicaTO, "redis-replica-timeout", redisstore.DefaultReplicaTimeout, "with -redis: how long a durable write waits for its replicas before it fails")
	fs.StringVar(&cfg.secret, "jwt-secret", "", "HS256 secret of the tokens; required unless -dev")
	fs.StringVar(&cfg.edition, "edition", "free", "free or enterprise")
	fs.IntVar(&cfg.limit, "connection-limit", hub.FreeLimit, "free edition: connection limit, at most 200")
	fs.DurationVar(&cfg.idleLimit, "idle-limit", 5*time.Minute, "workspace default idle limit (1s or more)")
	fs.DurationVar(&cfg.heartbeat, "heartbeat", 10*time.Second, "server ping interval; silent for 2.5 of them is dead")
	fs.StringVar(&cfg.allowedOrigins, "allowed-origins", "", "comma-separated extra origin patterns for browsers on other hosts")
	fs.StringVar(&cfg.adminAddr, "admin-addr", "127.0.0.1:9090", "metrics and pprof listener (empty: off)")
	fs.StringVar(&cfg.nodeID, "node-id", "", "this node's identity in the cluster (with -redis); default: a new uuid per run")
	fs.StringVar(&cfg.nodeName, "node-name", "", "this node's advertised name in logs; default: host name and port")
	fs.DurationVar(&cfg.nodeTTL, "node-ttl", 8*time.Second, "with -redis: a node silent this long is dead and its connections are dropped")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if err := envDefaults(fs); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.edition != string(hub.Free) && cfg.edition != string(hub.Enterprise):
		return cfg, fmt.Errorf("-edition must be free or enterprise, not %q", cfg.edition)
	case cfg.limit < 1 || cfg.limit > hub.FreeLimit:
		return cfg, fmt.Errorf("-connection-limit must be 1..%d: it may lower the free edition's limit, never raise it", hub.FreeLimit)
	case cfg.idleLimit < time.Second:
		return cfg, errors.New("-idle-limit must be 1s or more")
	case cfg.heartbeat < 100*time.Millisecond:
		return cfg, errors.New("-heartbeat must be 100ms or more")
	case cfg.nodeTTL < time.Second:
		return cfg, errors.New("-node-ttl must be 1s or more")
	case cfg.redisReplicaTO <= 0:
		return cfg, errors.New("-redis-replica-timeout must be positive")
	case cfg.secret == "" && !cfg.dev:
		return cfg, errors.New("-jwt-secret (or PRESENCE_JWT_SECRET) is required unless -dev")
	}
	return cfg, nil
}

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
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%q: %w", env, v, e)
		}
	})
	return err
}

func newLogger(dev bool, w io.Writer) zerolog.Logger {
	if dev {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).With().Timestamp().Logger()
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

func run(args []string, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log := newLogger(cfg.dev, stderr)
	secret := []byte(cfg.secret)
	if cfg.dev {
		log.Warn().Msg("dev mode: anyone can mint a token at /dev/token; never run it like this in production")
		if len(secret) == 0 {
			secret = make([]byte, 32)
			rand.Read(secret)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// go-redis logs every failed dial on its own; the store and the cluster
	// log one line per outage instead.
	redis.SetLogger(redisLog{log.With().Str("component", "redis").Logger()})
	st, rdb, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	kind := "bolt"
	if rdb != nil {
		kind = "redis"
		defer rdb.Close() // shared: the store and the node are done with it when run returns
	}

	maxConns := connCapacity(log)
	hcfg := hub.Config{
		Store:     st,
		Log:       log.With().Str("component", "hub").Logger(),
		Edition:   hub.Edition(cfg.edition),
		Limit:     cfg.limit,
		IdleLimit: cfg.idleLimit,
	}
	var node *cluster.Node
	if rdb != nil {
		// With Redis, this process is a node of a cluster (of one, maybe).
		if cfg.nodeID == "" {
			cfg.nodeID = uuid.NewString()
		}
		if cfg.nodeName == "" {
			host, _ := os.Hostname()
			cfg.nodeName = host + cfg.addr[strings.LastIndex(cfg.addr, ":"):]
		}
		node = cluster.New(cluster.Config{Redis: rdb, Store: st, ID: cfg.nodeID, Name: cfg.nodeName, TTL: cfg.nodeTTL,
			Log: log.With().Str("component", "cluster").Logger()})
		hcfg.Backplane = node
		log = log.With().Str("node", cfg.nodeName).Logger()
	}
	h := hub.New(hcfg)
	var origins []string
	if cfg.allowedOrigins != "" {
		origins = strings.Split(cfg.allowedOrigins, ",")
	}
	wcfg := web.Config{
		Hub:            h,
		Secret:         secret,
		Dev:            cfg.dev,
		Log:            log.With().Str("component", "web").Logger(),
		AllowedOrigins: origins,
		Heartbeat:      cfg.heartbeat,
		MaxConns:       maxConns,
	}
	if node != nil {
		wcfg.Counter = node
		wcfg.Node = cfg.nodeName
	}
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
	ev := log.Info().Str("url", url).Str("store", kind).Str("edition", cfg.edition)
	if cfg.edition == string(hub.Free) {
		ev = ev.Int("connection_limit", cfg.limit)
	}
	ev.Msg("presenced listening: open " + url + " in a browser")

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
