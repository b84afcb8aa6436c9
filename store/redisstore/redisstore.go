package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// Defaults for the zero fields of Options.
const (
	DefaultPrefix       = "presence:"
	DefaultDialTimeout  = time.Second
	DefaultReadTimeout  = time.Second
	DefaultWriteTimeout = time.Second
)

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Prefix starts every key the store writes, so that one Redis can hold
	// several workspaces, or tests beside a real one. Zero: "presence:".
	// On Redis Cluster it must contain a hash tag, e.g. "{presence}:",
	// because the Lua scripts touch several keys at once.
	Prefix string
	// DialTimeout bounds connecting to Redis. Zero: the URL's dial_timeout
	// parameter if it has one, else 1 s.
	DialTimeout time.Duration
	// ReadTimeout bounds waiting for one reply. Zero: the URL's read_timeout
	// parameter if it has one, else 1 s. Every command here is O(1) or
	// O(records), so a reply that takes longer means Redis is in trouble.
	ReadTimeout time.Duration
	// WriteTimeout bounds sending one command. Zero: the URL's
	// write_timeout parameter if it has one, else 1 s.
	WriteTimeout time.Duration
}

// Store is a store.Store kept in Redis.
type Store struct {
	rdb    *redis.Client
	keys   keys
	closed atomic.Bool

	createStatus *redis.Script
	updateStatus *redis.Script
	deleteStatus *redis.Script
	raisePeak    *redis.Script
}

var _ store.Store = (*Store)(nil)

// keys names every key of the store; see docs/redis.md.
type keys struct {
	prefix string
}

func (k keys) status(id string) string { return k.prefix + "status:" + id }
func (k keys) statusNames() string     { return k.prefix + "statuses" }
func (k keys) user(id string) string   { return k.prefix + "user:" + id }
func (k keys) users() string           { return k.prefix + "users" }
func (k keys) service() string         { return k.prefix + "service" }
func (k keys) settings() string        { return k.prefix + "settings" }
func (k keys) peak() string            { return k.prefix + "peak" }

// Results of the status scripts.
const (
	scriptOK       = 0
	scriptConflict = 1 // another status holds the name
	scriptIDTaken  = 2 // create: the id exists
	scriptNotFound = 3 // update, delete: no status has the id
)

// createStatusScript adds a status and reserves its name, or reports why not.
// The name key is computed in Go (status.Key) because Lua's string.lower
// knows only ASCII.
//
// KEYS[1] name index, KEYS[2] status hash;
// ARGV[1] name key, ARGV[2] id, ARGV[3] name, ARGV[4] presence, ARGV[5]
// duration.
const createStatusScript = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], 'name', ARGV[3], 'name_key', ARGV[1], 'presence', ARGV[4], 'duration', ARGV[5])
return 0
`

// updateStatusScript replaces a status and moves its name in the index. The
// old name key is read from the status hash, inside the script, so that a
// concurrent rename cannot leave a stale index entry behind.
//
// KEYS[1] name index, KEYS[2] status hash;
// ARGV[1] new name key, ARGV[2] id, ARGV[3] name, ARGV[4] presence, ARGV[5]
// duration.
const updateStatusScript = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 3 end
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner and owner ~= ARGV[2] then return 1 end
local old = redis.call('HGET', KEYS[2], 'name_key')
if old and old ~= ARGV[1] and redis.call('HGET', KEYS[1], old) == ARGV[2] then
  redis.call('HDEL', KEYS[1], old)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], 'name', ARGV[3], 'name_key', ARGV[1], 'presence', ARGV[4], 'duration', ARGV[5])
return 0
`

// deleteStatusScript removes a status and frees its name, but only an index
// entry that points at this id: a damaged index must not cost another status
// its name.
//
// KEYS[1] name index, KEYS[2] status hash; ARGV[1] id.
const deleteStatusScript = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 3 end
local key = redis.call('HGET', KEYS[2], 'name_key')
if key and redis.call('HGET', KEYS[1], key) == ARGV[1] then
  redis.call('HDEL', KEYS[1], key)
end
redis.call('DEL', KEYS[2])
return 0
`

// raisePeakScript stores ARGV[1] in KEYS[1] if it is higher, and returns the
// peak after the call. GET, compare and SET in Go would lose a higher value
// written by another node in between.
const raisePeakScript = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if not cur then return redis.error_reply('peak is not a number') end
local n = tonumber(ARGV[1])
if n > cur then
  redis.call('SET', KEYS[1], ARGV[1])
  return n
end
return cur
`

// Open connects to the Redis at rawURL (redis://[user:password@]host:port/db,
// rediss:// for TLS, or unix://) and pings it, so that a wrong address fails
// here rather than at the first write.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	ropts, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, password included: keep only the
		// reason.
		if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("redisstore: open: invalid redis URL: %w", err)
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	ropts.DialTimeout = pick(opts.DialTimeout, ropts.DialTimeout, DefaultDialTimeout)
	ropts.ReadTimeout = pick(opts.ReadTimeout, ropts.ReadTimeout, DefaultReadTimeout)
	ropts.WriteTimeout = pick(opts.WriteTimeout, ropts.WriteTimeout, DefaultWriteTimeout)
	ropts.ContextTimeoutEnabled = true
	// One dial attempt and no command retries: see doc.go. Failing fast is
	// the point; the caller retries when it makes sense.
	ropts.DialerRetries = 1
	ropts.MaxRetries = -1
	// Both handshakes use commands newer than Redis 7.0 (CLIENT SETINFO is
	// 7.2); 7.0 is what Debian ships.
	ropts.DisableIdentity = true
	ropts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

	rdb := redis.NewClient(ropts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redisstore: open: ping redis at %s (db %d): %w", ropts.Addr, ropts.DB, err)
	}
	return &Store{
		rdb:          rdb,
		keys:         keys{prefix: opts.Prefix},
		createStatus: redis.NewScript(createStatusScript),
		updateStatus: redis.NewScript(updateStatusScript),
		deleteStatus: redis.NewScript(deleteStatusScript),
		raisePeak:    redis.NewScript(raisePeakScript),
	}, nil
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

// Prefix returns the prefix of every key the store writes.
func (s *Store) Prefix() string { return s.keys.prefix }

// wrap names op in err, once.
func wrap(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// fail wraps a backend error of op. When ctx ended the call, go-redis reports
// the socket's i/o timeout; the context's error is added so that callers can
// tell "my deadline passed" from "Redis is broken" with errors.Is.
func fail(ctx context.Context, op string, err error) error {
	cerr := ctx.Err()
	// go-redis sets the socket deadline to the context's; the socket can
	// report first, a moment before the context's own timer marks it done.
	if d, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(d) {
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("redisstore: %s: %w: %w", op, cerr, err)
	}
	return wrap(op, err)
}

// CustomStatuses returns every custom status, in no particular order.
func (s *Store) CustomStatuses(ctx context.Context) ([]status.Custom, error) {
	const op = "list statuses"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	index, err := s.rdb.HGetAll(ctx, s.keys.statusNames()).Result()
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	if len(index) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make(map[string]*redis.MapStringStringCmd, len(index))
	for _, id := range index {
		cmds[id] = pipe.HGetAll(ctx, s.keys.status(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fail(ctx, op, err)
	}
	all := make([]status.Custom, 0, len(cmds))
	for id, cmd := range cmds {
		h := cmd.Val()
		if len(h) == 0 {
			continue // deleted since the index was read
		}
		p, err := parsePresence(h["presence"])
		if err != nil {
			return nil, wrap(op, fmt.Errorf("status %q: %w", id, err))
		}
		d, err := store.ParseDuration(h["duration"])
		if err != nil {
			return nil, wrap(op, fmt.Errorf("status %q: duration: %w", id, err))
		}
		all = append(all, status.Custom{ID: id, Name: h["name"], Presence: p, Duration: d})
	}
	return all, nil
}

// runStatusScript runs one of the status scripts and turns its result into
// an error.
func (s *Store) runStatusScript(ctx context.Context, op string, script *redis.Script, id string, args ...any) error {
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	res, err := script.Run(ctx, s.rdb, []string{s.keys.statusNames(), s.keys.status(id)}, args...).Int()
	if err != nil {
		return fail(ctx, op, err)
	}
	switch res {
	case scriptOK:
		return nil
	case scriptConflict:
		return wrap(op, store.ErrConflict)
	case scriptIDTaken:
		return wrap(op, fmt.Errorf("id %q already exists", id))
	case scriptNotFound:
		return wrap(op, store.ErrNotFound)
	default:
		return wrap(op, fmt.Errorf("unexpected script result %d", res))
	}
}

// CreateCustomStatus adds cs, or returns store.ErrConflict if its name is
// taken in any letter case. It fails without change if cs.ID is taken.
func (s *Store) CreateCustomStatus(ctx context.Context, cs status.Custom) error {
	return s.runStatusScript(ctx, "create status", s.createStatus, cs.ID,
		status.Key(cs.Name), cs.ID, cs.Name, cs.Presence.String(), cs.Duration.String())
}

// UpdateCustomStatus replaces the status with cs.ID, moving its name in the
// index when the name changes.
func (s *Store) UpdateCustomStatus(ctx context.Context, cs status.Custom) error {
	return s.runStatusScript(ctx, "update status", s.updateStatus, cs.ID,
		status.Key(cs.Name), cs.ID, cs.Name, cs.Presence.String(), cs.Duration.String())
}

// DeleteCustomStatus removes the status with this id and frees its name.
func (s *Store) DeleteCustomStatus(ctx context.Context, id string) error {
	return s.runStatusScript(ctx, "delete status", s.deleteStatus, id, id)
}

// Users returns every stored user, in no particular order.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	const op = "list users"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	ids, err := s.rdb.SMembers(ctx, s.keys.users()).Result()
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.keys.user(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fail(ctx, op, err)
	}
	all := make([]store.User, 0, len(ids))
	for i, cmd := range cmds {
		h := cmd.Val()
		if len(h) == 0 {
			continue // a set member without its hash: nothing to return
		}
		u, err := decodeUser(ids[i], h)
		if err != nil {
			return nil, wrap(op, err)
		}
		all = append(all, u)
	}
	return all, nil
}

// User returns the stored user with this id, or store.ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (store.User, error) {
	const op = "get user"
	if err := ctx.Err(); err != nil {
		return store.User{}, wrap(op, err)
	}
	h, err := s.rdb.HGetAll(ctx, s.keys.user(id)).Result()
	if err != nil {
		return store.User{}, fail(ctx, op, err)
	}
	if len(h) == 0 {
		return store.User{}, wrap(op, store.ErrNotFound)
	}
	u, err := decodeUser(id, h)
	if err != nil {
		return store.User{}, wrap(op, err)
	}
	return u, nil
}

// PutUser stores u, replacing any earlier state of u.ID, in one MULTI/EXEC
// so that no reader sees the hash without its set member or half written.
func (s *Store) PutUser(ctx context.Context, u store.User) error {
	return s.PutUsers(ctx, []store.User{u})
}

// PutUsers stores every user of us in one MULTI/EXEC, one round trip.
func (s *Store) PutUsers(ctx context.Context, us []store.User) error {
	op := "put users"
	if len(us) == 1 {
		op = "put user"
	}
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	_, err := s.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		for _, u := range us {
			key := s.keys.user(u.ID)
			// DEL first: a field an older version wrote must not outlive
			// the replacement.
			tx.Del(ctx, key)
			tx.HSet(ctx, key,
				"manual", u.Manual.String(),
				"text", u.Text,
				"custom", u.Custom,
				"idle_limit", u.IdleLimit.String(),
				"auto_away", formatBool(u.AutoAway),
				"last_seen", store.FormatTime(u.LastSeen),
				"until", store.FormatTime(u.Until),
			)
			tx.SAdd(ctx, s.keys.users(), u.ID)
		}
		return nil
	})
	if err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

// Service returns the service state, Service{Enabled: true} if never written.
func (s *Store) Service(ctx context.Context) (store.Service, error) {
	const op = "get service"
	if err := ctx.Err(); err != nil {
		return store.Service{}, wrap(op, err)
	}
	h, err := s.rdb.HGetAll(ctx, s.keys.service()).Result()
	if err != nil {
		return store.Service{}, fail(ctx, op, err)
	}
	if len(h) == 0 {
		return store.Service{Enabled: true}, nil
	}
	enabled, err := parseBool(h["enabled"])
	if err != nil {
		return store.Service{}, wrap(op, fmt.Errorf("enabled: %w", err))
	}
	since, err := store.ParseTime(h["since"])
	if err != nil {
		return store.Service{}, wrap(op, fmt.Errorf("since: %w", err))
	}
	return store.Service{Enabled: enabled, Reason: h["reason"], Since: since}, nil
}

// PutService stores the service state. One HSET of every field is atomic.
func (s *Store) PutService(ctx context.Context, svc store.Service) error {
	const op = "put service"
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	err := s.rdb.HSet(ctx, s.keys.service(),
		"enabled", formatBool(svc.Enabled),
		"reason", svc.Reason,
		"since", store.FormatTime(svc.Since),
	).Err()
	if err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

// Peak returns the highest connection count recorded, 0 if none.
func (s *Store) Peak(ctx context.Context) (int, error) {
	const op = "get peak"
	if err := ctx.Err(); err != nil {
		return 0, wrap(op, err)
	}
	n, err := s.rdb.Get(ctx, s.keys.peak()).Int()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fail(ctx, op, err)
	}
	return n, nil
}

// RaisePeak records n if it is higher than the recorded peak and returns the
// peak after the call, atomically across every node.
func (s *Store) RaisePeak(ctx context.Context, n int) (int, error) {
	const op = "raise peak"
	if err := ctx.Err(); err != nil {
		return 0, wrap(op, err)
	}
	peak, err := s.raisePeak.Run(ctx, s.rdb, []string{s.keys.peak()}, n).Int()
	if err != nil {
		return 0, fail(ctx, op, err)
	}
	return peak, nil
}

// ResetPeak sets the peak to n whatever it was.
func (s *Store) ResetPeak(ctx context.Context, n int) error {
	const op = "reset peak"
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	if err := s.rdb.Set(ctx, s.keys.peak(), n, 0).Err(); err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

// Settings returns the workspace settings; zero values when never written.
func (s *Store) Settings(ctx context.Context) (store.Settings, error) {
	const op = "get settings"
	if err := ctx.Err(); err != nil {
		return store.Settings{}, wrap(op, err)
	}
	h, err := s.rdb.HGetAll(ctx, s.keys.settings()).Result()
	if err != nil {
		return store.Settings{}, fail(ctx, op, err)
	}
	idle, err := store.ParseDuration(h["idle_limit"])
	if err != nil {
		return store.Settings{}, wrap(op, fmt.Errorf("idle_limit: %w", err))
	}
	return store.Settings{IdleLimit: idle}, nil
}

// PutSettings stores the workspace settings.
func (s *Store) PutSettings(ctx context.Context, set store.Settings) error {
	const op = "put settings"
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	if err := s.rdb.HSet(ctx, s.keys.settings(), "idle_limit", set.IdleLimit.String()).Err(); err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	const op = "ping"
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

// Close closes the connection pool. Later calls fail; a second Close returns
// nil. Keys are left in Redis: they are the store.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.rdb.Close(); err != nil {
		return wrap("close", err)
	}
	return nil
}

// The field encodings, shared with docs/redis.md: presence values are wire
// names, booleans "1"/"0", durations Go duration strings (exact, and readable
// in redis-cli), times RFC 3339 with nanoseconds in UTC, "" for the zero time.

func decodeUser(id string, h map[string]string) (store.User, error) {
	manual, err := parsePresence(h["manual"])
	if err != nil {
		return store.User{}, fmt.Errorf("user %q: manual: %w", id, err)
	}
	idle, err := store.ParseDuration(h["idle_limit"])
	if err != nil {
		return store.User{}, fmt.Errorf("user %q: idle_limit: %w", id, err)
	}
	autoAway, err := parseBool(h["auto_away"])
	if err != nil {
		return store.User{}, fmt.Errorf("user %q: auto_away: %w", id, err)
	}
	seen, err := store.ParseTime(h["last_seen"])
	if err != nil {
		return store.User{}, fmt.Errorf("user %q: last_seen: %w", id, err)
	}
	until, err := store.ParseTime(h["until"])
	if err != nil {
		return store.User{}, fmt.Errorf("user %q: until: %w", id, err)
	}
	return store.User{
		ID: id, Manual: manual, Text: h["text"], Custom: h["custom"],
		IdleLimit: idle, AutoAway: autoAway, LastSeen: seen, Until: until,
	}, nil
}

func parsePresence(name string) (presence.Status, error) {
	p, ok := presence.ParseStatus(name)
	if !ok {
		return 0, fmt.Errorf("unknown presence %q", name)
	}
	return p, nil
}

func formatBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func parseBool(s string) (bool, error) {
	switch s {
	case "1":
		return true, nil
	case "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not 1 or 0", s)
}

// Client returns the store's Redis client, for other users of the same
// Redis (the cluster backplane) to share its connections and settings.
func (s *Store) Client() *redis.Client { return s.rdb }
