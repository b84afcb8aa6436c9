package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults for the zero fields of DialOptions.
const (
	DefaultDialTimeout  = time.Second
	DefaultReadTimeout  = time.Second
	DefaultWriteTimeout = time.Second
)

// DialOptions bound how long the client waits on Redis. The zero value is
// ready to use.
type DialOptions struct {
	// DialTimeout bounds connecting to Redis. Zero: the URL's dial_timeout
	// parameter if it has one, else 1 s.
	DialTimeout time.Duration
	// ReadTimeout bounds waiting for one reply. Zero: the URL's read_timeout
	// parameter if it has one, else 1 s. Every command here is O(1) or
	// O(records), so a reply that takes longer means Redis is in trouble.
	// WAIT sets its own read deadline from Options.ReplicaTimeout.
	ReadTimeout time.Duration
	// WriteTimeout bounds sending one command. Zero: the URL's
	// write_timeout parameter if it has one, else 1 s.
	WriteTimeout time.Duration
}

// The URL schemes Dial takes, one per Redis topology.
const (
	schemeServer      = "redis"
	schemeServerTLS   = "rediss"
	schemeSocket      = "unix"
	schemeSentinel    = "redis+sentinel"
	schemeSentinelTLS = "rediss+sentinel"
	schemeCluster     = "redis+cluster"
	schemeClusterTLS  = "rediss+cluster"
)

// The forms of a URL, for error messages.
const urlForms = "redis://[user:password@]host:port[/db], rediss://... (TLS), " +
	"redis+sentinel://[user:password@]host:port,host:port/MASTER[/db] or " +
	"redis+cluster://[user:password@]host:port,host:port"

// Dial opens a client for the Redis that rawURL names and pings it, so that a
// wrong address fails here rather than at the first write. The forms:
//
//	redis://[user:password@]host:port[/db]   one server (rediss:// for TLS, unix:///path?db=N for a socket)
//	redis+sentinel://[user:password@]h1:26379,h2:26379/MASTER[/db]   the master that Sentinel names
//	redis+cluster://[user:password@]h1:6379,h2:6379   Redis Cluster (any of its nodes)
//
// rediss+sentinel and rediss+cluster use TLS. The user and password are the
// data nodes'; sentinels that need their own take sentinel_username= and
// sentinel_password= query parameters. Other query parameters are go-redis's
// (dial_timeout=, pool_size=, ...). The client fails fast: one dial attempt,
// no command retries (see doc.go). The caller closes it.
func Dial(ctx context.Context, rawURL string, opts DialOptions) (redis.UniversalClient, error) {
	rdb, where, err := newClient(rawURL, opts)
	if err != nil {
		return nil, fmt.Errorf("redisstore: dial: %w", err)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redisstore: dial: ping %s: %w", where, err)
	}
	return rdb, nil
}

// timeouts fills in a client's timeouts: those of opts, else the URL's,
// else the defaults. Every form's client also gets the same policy beside
// them: contexts bound each call, one dial attempt and no command retries
// (a retried create whose reply was lost would report its own success as
// a conflict), and no CLIENT SETINFO (Redis 7.2).
func (opts DialOptions) timeouts(dial, read, write *time.Duration) {
	*dial = pick(opts.DialTimeout, *dial, DefaultDialTimeout)
	*read = pick(opts.ReadTimeout, *read, DefaultReadTimeout)
	*write = pick(opts.WriteTimeout, *write, DefaultWriteTimeout)
}

// newClient builds the client for rawURL without connecting, and says where
// it points for error messages (never with the password).
func newClient(rawURL string, opts DialOptions) (redis.UniversalClient, string, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		hint := "redis://host:port/0"
		if !strings.ContainsAny(rawURL, "@/?") {
			hint = "redis://" + rawURL + "/0"
		}
		return nil, "", fmt.Errorf("invalid redis URL: no scheme; write %s (forms: %s)", hint, urlForms)
	}
	switch scheme {
	case schemeServer, schemeServerTLS, schemeSocket:
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, "", invalidURL(err)
		}
		opts.timeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout)
		o.ContextTimeoutEnabled, o.DialerRetries, o.MaxRetries, o.DisableIdentity = true, 1, -1, true
		o.MaintNotificationsConfig = noMaintNotifications()
		return redis.NewClient(o), fmt.Sprintf("redis at %s (db %d)", o.Addr, o.DB), nil
	case schemeSentinel, schemeSentinelTLS:
		o, err := parseSentinelURL(scheme == schemeSentinelTLS, rest)
		if err != nil {
			return nil, "", err
		}
		opts.timeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout)
		o.ContextTimeoutEnabled, o.DialerRetries, o.MaxRetries, o.DisableIdentity = true, 1, -1, true
		where := fmt.Sprintf("master %q of the sentinels at %s (db %d)", o.MasterName, strings.Join(o.SentinelAddrs, ","), o.DB)
		return redis.NewFailoverClient(o), where, nil
	case schemeCluster, schemeClusterTLS:
		o, err := parseClusterURL(scheme == schemeClusterTLS, rest)
		if err != nil {
			return nil, "", err
		}
		opts.timeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout)
		o.ContextTimeoutEnabled, o.DialerRetries, o.MaxRetries, o.DisableIdentity = true, 1, -1, true
		o.MaintNotificationsConfig = noMaintNotifications()
		return redis.NewClusterClient(o), "redis cluster at " + strings.Join(o.Addrs, ","), nil
	}
	return nil, "", fmt.Errorf("invalid redis URL: unknown scheme %q (forms: %s)", scheme, urlForms)
}

// noMaintNotifications turns off go-redis's maintenance notification
// handshake, newer than the Redis 7.0 that Debian ships.
func noMaintNotifications() *maintnotifications.Config {
	return &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// invalidURL keeps only the reason of a URL error: url.Error quotes the
// whole URL, password included.
func invalidURL(err error) error {
	if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
		err = uerr.Err
	}
	return fmt.Errorf("invalid redis URL: %w", err)
}

// multiHost is a URL whose authority holds several host:port, which
// net/url does not parse.
type multiHost struct {
	user  *url.Userinfo
	addrs []string
	path  string
	query url.Values
}

// parseMultiHost parses rest, a URL after its "scheme://", giving hosts
// without a port defaultPort.
func parseMultiHost(rest, defaultPort string) (multiHost, error) {
	var m multiHost
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		// Let net/url decode the user info, percent escapes and all.
		u, err := url.Parse("redis://" + authority[:at+1] + "host")
		if err != nil {
			return m, invalidURL(err)
		}
		m.user = u.User
		authority = authority[at+1:]
	}
	for h := range strings.SplitSeq(authority, ",") {
		if h == "" {
			return m, errors.New("invalid redis URL: empty host in the host list")
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(h, defaultPort)
		}
		m.addrs = append(m.addrs, h)
	}
	u, err := url.Parse(tail)
	if err != nil {
		return m, invalidURL(err)
	}
	m.path, m.query = u.Path, u.Query()
	return m, nil
}

// parseSentinelURL parses the part after redis+sentinel://:
// [user:password@]h1:26379,h2:26379/MASTER[/db][?query].
func parseSentinelURL(tls bool, rest string) (*redis.FailoverOptions, error) {
	m, err := parseMultiHost(rest, "26379")
	if err != nil {
		return nil, err
	}
	parts := strings.FieldsFunc(m.path, func(r rune) bool { return r == '/' })
	if len(parts) == 0 || len(parts) > 2 {
		return nil, fmt.Errorf("invalid redis URL: a sentinel URL names its master and optionally a db: redis+sentinel://host:26379,host:26379/MASTER[/db], not path %q", m.path)
	}
	// go-redis parses the query (timeouts, pool sizes) and checks that no
	// option is unknown; the addresses, master, db and user go around it.
	q := url.Values{}
	for k, v := range m.query {
		switch k {
		case "sentinel_username", "sentinel_password":
		default:
			q[k] = v
		}
	}
	scheme := "redis"
	if tls {
		scheme = "rediss"
	}
	o, err := redis.ParseFailoverURL(scheme + "://" + m.addrs[0] + "/?" + q.Encode())
	if err != nil {
		return nil, invalidURL(err)
	}
	o.SentinelAddrs = m.addrs
	o.MasterName = parts[0]
	if len(parts) == 2 {
		var db int
		if _, err := fmt.Sscanf(parts[1], "%d", &db); err != nil || fmt.Sprint(db) != parts[1] || db < 0 {
			return nil, fmt.Errorf("invalid redis URL: db %q is not a number", parts[1])
		}
		o.DB = db
	}
	o.SentinelUsername = m.query.Get("sentinel_username")
	o.SentinelPassword = m.query.Get("sentinel_password")
	if m.user != nil {
		o.Username = m.user.Username()
		o.Password, _ = m.user.Password()
	}
	return o, nil
}

// parseClusterURL parses the part after redis+cluster://:
// [user:password@]h1:6379,h2:6379[?query]. Redis Cluster has only db 0.
func parseClusterURL(tls bool, rest string) (*redis.ClusterOptions, error) {
	m, err := parseMultiHost(rest, "6379")
	if err != nil {
		return nil, err
	}
	if p := strings.Trim(m.path, "/"); p != "" && p != "0" {
		return nil, fmt.Errorf("invalid redis URL: Redis Cluster has only db 0, not %q", p)
	}
	q := url.Values{}
	for k, v := range m.query {
		q[k] = v
	}
	for _, a := range m.addrs[1:] {
		q.Add("addr", a)
	}
	scheme := "redis"
	if tls {
		scheme = "rediss"
	}
	u := &url.URL{Scheme: scheme, User: m.user, Host: m.addrs[0], RawQuery: q.Encode()}
	o, err := redis.ParseClusterURL(u.String())
	if err != nil {
		return nil, invalidURL(err)
	}
	return o, nil
}

// pick returns the first positive duration of ds.
func pick(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}
