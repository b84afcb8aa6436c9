package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// Defaults for the zero fields of Options.
const (
	// DefaultPrefix carries a hash tag, {presence}, so that every key of a
	// workspace lands in one Redis Cluster slot and the Lua scripts, which
	// touch several keys at once, run there.
	DefaultPrefix = "{presence}:"
	// DefaultReplicaTimeout is how long a durable write waits for a replica
	// to acknowledge it: a replica on the same network answers in a
	// millisecond; one that takes longer is lagging or gone.
	DefaultReplicaTimeout = time.Second
	// replicaCheck is how often the store asks the master (ROLE) how many
	// replicas it has, when Options.Replicas is zero.
	replicaCheck = 5 * time.Second
)

// ErrNotReplicated is wrapped by a write that the master applied but that
// too few replicas acknowledged in time: it is not acknowledged, because the
// master's death could still lose it.
var ErrNotReplicated = errors.New("not acknowledged by enough replicas")

// errClosed is what every call returns after Close.
var errClosed = errors.New("store is closed")

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Prefix starts every key the store writes, so that one Redis can hold
	// several workspaces, or tests beside a real one. Zero: "{presence}:".
	// On Redis Cluster it must contain a hash tag ("{...}"), because the
	// Lua scripts touch several keys at once.
	Prefix string
	// Replicas is how many replicas must acknowledge each durable write
	// (Redis WAIT) before the call returns. Zero: one, whenever the master
	// has a replica (checked every 5 s); none when it has none. Negative:
	// never wait.
	Replicas int
	// ReplicaTimeout bounds that wait. Zero: 1 s.
	ReplicaTimeout time.Duration
	// Dial bounds the client that Open makes; New ignores it.
	Dial DialOptions
}

// Store is a store.Store kept in Redis.
type Store struct {
	rdb    redis.UniversalClient
	owned  bool // Open made rdb: Close closes it
	keys   keys
	opts   Options
	closed atomic.Bool

	createStatus *redis.Script
	updateStatus *redis.Script
	deleteStatus *redis.Script
	raisePeak    *redis.Script
	putUser      *redis.Script

	mu        sync.Mutex
	replicas  int       // the master's replicas at the last check
	checkedAt time.Time // zero: check before the next write
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

// putUserScript replaces a user's hash and adds the id to the set of users,
// so that no reader sees the hash without its set member or half written. A
// script rather than MULTI/EXEC, so that the write and its WAIT go in one
// pipeline.
//
// KEYS[1] user hash, KEYS[2] user set; ARGV[1] id, ARGV[2..] field, value...
const putUserScript = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SADD', KEYS[2], ARGV[1])
return 0
`

// Open dials the Redis at rawURL (every form of Dial) and returns a store
// that owns the client: Close closes it.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	rdb, err := Dial(ctx, rawURL, opts.Dial)
	if err != nil {
		return nil, err
	}
	s, err := New(rdb, opts)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New returns a store on rdb, a client from Dial that others (the cluster
// backplane) may share. The caller closes rdb after the store.
func New(rdb redis.UniversalClient, opts Options) (*Store, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.ReplicaTimeout <= 0 {
		opts.ReplicaTimeout = DefaultReplicaTimeout
	}
	if _, ok := rdb.(*redis.ClusterClient); ok && !HasHashTag(opts.Prefix) {
		return nil, fmt.Errorf("redisstore: prefix %q has no hash tag: on Redis Cluster it needs one, e.g. {presence}:, so that every key of the workspace is in one slot", opts.Prefix)
	}
	return &Store{
		rdb:          rdb,
		keys:         keys{prefix: opts.Prefix},
		opts:         opts,
		createStatus: redis.NewScript(createStatusScript),
		updateStatus: redis.NewScript(updateStatusScript),
		deleteStatus: redis.NewScript(deleteStatusScript),
		raisePeak:    redis.NewScript(raisePeakScript),
		putUser:      redis.NewScript(putUserScript),
	}, nil
}

// HasHashTag reports whether key has a Redis Cluster hash tag: a "{" later
// followed by "}" with at least one byte between them, which then alone
// decides the key's slot.
func HasHashTag(key string) bool {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return false
	}
	end := strings.IndexByte(key[open+1:], '}')
	return end > 0
}

// Prefix returns the prefix of every key the store writes.
func (s *Store) Prefix() string { return s.keys.prefix }

// wrap names op in err, once.
func wrap(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// fail wraps an error of op. When ctx ended the call, go-redis reports the
// socket's i/o timeout; the context's error is added so that callers can
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

// read runs fn, a read of op, unless ctx is done or the store closed, and
// wraps its error once.
func (s *Store) read(ctx context.Context, op string, fn func() error) error {
	if err := s.usable(ctx); err != nil {
		return wrap(op, err)
	}
	if err := fn(); err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

// write sends the commands that queue adds in one pipeline to the master
// that holds the workspace and, when replicas must acknowledge it, waits for
// them on the same connection (WAIT counts the writes of its own
// connection). queue's commands hold their own results afterwards.
func (s *Store) write(ctx context.Context, op string, queue func(p redis.Pipeliner)) error {
	if err := s.usable(ctx); err != nil {
		return wrap(op, err)
	}
	master, err := s.master(ctx)
	if err != nil {
		return fail(ctx, op, err)
	}
	need := s.replicasToWait(ctx, master)
	if need == 0 {
		if _, err := master.Pipelined(ctx, func(p redis.Pipeliner) error { queue(p); return nil }); err != nil {
			s.forget()
			return fail(ctx, op, err)
		}
		return nil
	}
	conn := master.Conn()
	defer conn.Close()
	if _, err := conn.Pipelined(ctx, func(p redis.Pipeliner) error { queue(p); return nil }); err != nil {
		s.forget()
		return fail(ctx, op, err)
	}
	acked, err := conn.Wait(ctx, need, s.opts.ReplicaTimeout).Result()
	if err != nil {
		s.forget()
		return fail(ctx, op, fmt.Errorf("wait for replicas: %w", err))
	}
	if acked < int64(need) {
		s.forget()
		return wrap(op, fmt.Errorf("%w: %d of %d replicas within %v", ErrNotReplicated, acked, need, s.opts.ReplicaTimeout))
	}
	return nil
}

// usable reports why no call may start: ctx done or the store closed.
func (s *Store) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return errClosed
	}
	return nil
}

// master returns the client of the master that holds the workspace: the
// client itself on one server or Sentinel (which follows the master), the
// node of the prefix's slot on Redis Cluster.
func (s *Store) master(ctx context.Context) (*redis.Client, error) {
	switch c := s.rdb.(type) {
	case *redis.Client:
		return c, nil
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, s.keys.peak())
	default:
		return nil, fmt.Errorf("unsupported client %T", s.rdb)
	}
}

// forget drops what the store knows of the topology after a failed write:
// the replica count is checked again and, on Redis Cluster, the slot map
// reloaded, so that the next write goes to a promoted replica.
func (s *Store) forget() {
	s.mu.Lock()
	s.checkedAt = time.Time{}
	s.mu.Unlock()
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		c.ReloadState(context.Background())
	}
}

// replicasToWait returns how many replicas the next write waits for.
func (s *Store) replicasToWait(ctx context.Context, master *redis.Client) int {
	if s.opts.Replicas != 0 {
		return max(s.opts.Replicas, 0)
	}
	s.mu.Lock()
	fresh := !s.checkedAt.IsZero() && time.Since(s.checkedAt) < replicaCheck
	n := s.replicas
	s.mu.Unlock()
	if !fresh {
		// Failing to ask is no reason to fail the write: the write itself
		// will tell whether the master is there.
		if got, err := countReplicas(ctx, master); err == nil {
			n = got
			s.mu.Lock()
			s.replicas, s.checkedAt = n, time.Now()
			s.mu.Unlock()
		}
	}
	return min(n, 1)
}

// countReplicas asks master (ROLE) how many replicas it has.
func countReplicas(ctx context.Context, master *redis.Client) (int, error) {
	role, err := master.Do(ctx, "role").Slice()
	if err != nil {
		return 0, err
	}
	if len(role) < 3 || role[0] != "master" {
		return 0, fmt.Errorf("ROLE says %v, not master", role)
	}
	replicas, _ := role[2].([]any)
	return len(replicas), nil
}

// CustomStatuses returns every custom status, in no particular order.
func (s *Store) CustomStatuses(ctx context.Context) ([]status.Custom, error) {
	var all []status.Custom
	err := s.read(ctx, "list statuses", func() error {
		index, err := s.rdb.HGetAll(ctx, s.keys.statusNames()).Result()
		if err != nil || len(index) == 0 {
			return err
		}
		pipe := s.rdb.Pipeline()
		cmds := make(map[string]*redis.MapStringStringCmd, len(index))
		for _, id := range index {
			cmds[id] = pipe.HGetAll(ctx, s.keys.status(id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		all = make([]status.Custom, 0, len(cmds))
		for id, cmd := range cmds {
			h := cmd.Val()
			if len(h) == 0 {
				continue // deleted since the index was read
			}
			p, err := store.ParsePresence(h["presence"])
			if err != nil {
				return fmt.Errorf("status %q: %w", id, err)
			}
			d, err := store.ParseDuration(h["duration"])
			if err != nil {
				return fmt.Errorf("status %q: duration: %w", id, err)
			}
			all = append(all, status.Custom{ID: id, Name: h["name"], Presence: p, Duration: d})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// runStatusScript runs one of the status scripts and turns its result into
// an error.
func (s *Store) runStatusScript(ctx context.Context, op string, script *redis.Script, id string, args ...any) error {
	var res *redis.Cmd
	err := s.write(ctx, op, func(p redis.Pipeliner) {
		res = script.Eval(ctx, p, []string{s.keys.statusNames(), s.keys.status(id)}, args...)
	})
	if err != nil {
		return err
	}
	code, err := res.Int()
	if err != nil {
		return wrap(op, fmt.Errorf("script result: %w", err))
	}
	switch code {
	case scriptOK:
		return nil
	case scriptConflict:
		return wrap(op, store.ErrConflict)
	case scriptIDTaken:
		return wrap(op, fmt.Errorf("id %q already exists", id))
	case scriptNotFound:
		return wrap(op, store.ErrNotFound)
	default:
		return wrap(op, fmt.Errorf("unexpected script result %d", code))
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
	var all []store.User
	err := s.read(ctx, "list users", func() error {
		ids, err := s.rdb.SMembers(ctx, s.keys.users()).Result()
		if err != nil || len(ids) == 0 {
			return err
		}
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(ids))
		for i, id := range ids {
			cmds[i] = pipe.HGetAll(ctx, s.keys.user(id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		all = make([]store.User, 0, len(ids))
		for i, cmd := range cmds {
			h := cmd.Val()
			if len(h) == 0 {
				continue // a set member without its hash: nothing to return
			}
			u, err := decodeUser(ids[i], h)
			if err != nil {
				return err
			}
			all = append(all, u)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// User returns the stored user with this id, or store.ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (store.User, error) {
	var u store.User
	err := s.read(ctx, "get user", func() error {
		h, err := s.rdb.HGetAll(ctx, s.keys.user(id)).Result()
		if err != nil {
			return err
		}
		if len(h) == 0 {
			return store.ErrNotFound
		}
		u, err = decodeUser(id, h)
		return err
	})
	return u, err
}

// PutUser stores u, replacing any earlier state of u.ID, atomically (one
// script): a field an older version wrote does not outlive the replacement.
func (s *Store) PutUser(ctx context.Context, u store.User) error {
	return s.PutUsers(ctx, []store.User{u})
}

// PutUsers stores every user of us in one pipeline, one round trip (and one
// WAIT for the replicas), each user by one script.
func (s *Store) PutUsers(ctx context.Context, us []store.User) error {
	op := "put users"
	if len(us) == 1 {
		op = "put user"
	}
	return s.write(ctx, op, func(p redis.Pipeliner) {
		for _, u := range us {
			args := append([]any{u.ID}, encodeUser(u)...)
			s.putUser.Eval(ctx, p, []string{s.keys.user(u.ID), s.keys.users()}, args...)
		}
	})
}

// Service returns the service state, Service{Enabled: true} if never written.
func (s *Store) Service(ctx context.Context) (store.Service, error) {
	svc := store.Service{Enabled: true}
	err := s.read(ctx, "get service", func() error {
		h, err := s.rdb.HGetAll(ctx, s.keys.service()).Result()
		if err != nil || len(h) == 0 {
			return err
		}
		if svc.Enabled, err = parseBool(h["enabled"]); err != nil {
			return fmt.Errorf("enabled: %w", err)
		}
		if svc.Since, err = store.ParseTime(h["since"]); err != nil {
			return fmt.Errorf("since: %w", err)
		}
		svc.Reason = h["reason"]
		return nil
	})
	if err != nil {
		return store.Service{}, err
	}
	return svc, nil
}

// PutService stores the service state. One HSET of every field is atomic.
func (s *Store) PutService(ctx context.Context, svc store.Service) error {
	return s.write(ctx, "put service", func(p redis.Pipeliner) {
		p.HSet(ctx, s.keys.service(),
			"enabled", formatBool(svc.Enabled),
			"reason", svc.Reason,
			"since", store.FormatTime(svc.Since),
		)
	})
}

// Peak returns the highest connection count recorded, 0 if none.
func (s *Store) Peak(ctx context.Context) (int, error) {
	var n int
	err := s.read(ctx, "get peak", func() error {
		var err error
		n, err = s.rdb.Get(ctx, s.keys.peak()).Int()
		if errors.Is(err, redis.Nil) {
			n, err = 0, nil
		}
		return err
	})
	return n, err
}

// RaisePeak records n if it is higher than the recorded peak and returns the
// peak after the call, atomically across every node.
func (s *Store) RaisePeak(ctx context.Context, n int) (int, error) {
	var res *redis.Cmd
	err := s.write(ctx, "raise peak", func(p redis.Pipeliner) {
		res = s.raisePeak.Eval(ctx, p, []string{s.keys.peak()}, n)
	})
	if err != nil {
		return 0, err
	}
	peak, err := res.Int()
	if err != nil {
		return 0, wrap("raise peak", err)
	}
	return peak, nil
}

// ResetPeak sets the peak to n whatever it was.
func (s *Store) ResetPeak(ctx context.Context, n int) error {
	return s.write(ctx, "reset peak", func(p redis.Pipeliner) {
		p.Set(ctx, s.keys.peak(), n, 0)
	})
}

// Settings returns the workspace settings; zero values when never written.
func (s *Store) Settings(ctx context.Context) (store.Settings, error) {
	var set store.Settings
	err := s.read(ctx, "get settings", func() error {
		h, err := s.rdb.HGetAll(ctx, s.keys.settings()).Result()
		if err != nil {
			return err
		}
		if set.IdleLimit, err = store.ParseDuration(h["idle_limit"]); err != nil {
			return fmt.Errorf("idle_limit: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Settings{}, err
	}
	return set, nil
}

// PutSettings stores the workspace settings.
func (s *Store) PutSettings(ctx context.Context, set store.Settings) error {
	return s.write(ctx, "put settings", func(p redis.Pipeliner) {
		p.HSet(ctx, s.keys.settings(), "idle_limit", set.IdleLimit.String())
	})
}

// Ping reports whether Redis answers: on Redis Cluster, the master that
// holds the workspace.
func (s *Store) Ping(ctx context.Context) error {
	return s.read(ctx, "ping", func() error {
		master, err := s.master(ctx)
		if err == nil {
			err = master.Ping(ctx).Err()
		}
		if err != nil {
			// As after a failed write: the master may have moved.
			s.forget()
		}
		return err
	})
}

// Close ends the store: later calls fail. It closes the client only if Open
// made it. A second Close returns nil. Keys are left in Redis: they are the
// store.
func (s *Store) Close() error {
	if s.closed.Swap(true) || !s.owned {
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

// encodeUser returns u's hash as field, value pairs; decodeUser reads them.
// A new field goes in both, and decodeUser must read its absence (a hash
// written before it) as its zero value.
func encodeUser(u store.User) []any {
	return []any{
		"manual", u.Manual.String(),
		"text", u.Text,
		"custom", u.Custom,
		"idle_limit", u.IdleLimit.String(),
		"auto_away", formatBool(u.AutoAway),
		"last_seen", store.FormatTime(u.LastSeen),
		"until", store.FormatTime(u.Until),
	}
}

func decodeUser(id string, h map[string]string) (store.User, error) {
	manual, err := store.ParsePresence(h["manual"])
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
