package web

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/presenced/presenced/internal/testenv"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/boltstore"
	"github.com/presenced/presenced/store/redisstore"
)

// flakyStore is a real store whose writes and pings fail while down is set,
// as when Redis is unreachable.
type flakyStore struct {
	store.Store
	down atomic.Bool
}

var errUnreachable = errors.New("dial tcp 127.0.0.1:6379: connection refused")

func (f *flakyStore) PutUser(ctx context.Context, u store.User) error {
	if f.down.Load() {
		return errUnreachable
	}
	return f.Store.PutUser(ctx, u)
}

func (f *flakyStore) PutUsers(ctx context.Context, us []store.User) error {
	if f.down.Load() {
		return errUnreachable
	}
	return f.Store.PutUsers(ctx, us)
}

func (f *flakyStore) Ping(ctx context.Context) error {
	if f.down.Load() {
		return errUnreachable
	}
	return f.Store.Ping(ctx)
}

func TestReadyzReportsStoreHealth(t *testing.T) {
	var flaky *flakyStore
	dir := t.TempDir()
	n := startNode(t, options{
		dir: dir,
		web: Config{RateLimit: 1e6, RateBurst: 1e6},
		open: func(t *testing.T, dir string) store.Store {
			st, err := boltstore.Open(dir, boltstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			flaky = &flakyStore{Store: st}
			return flaky
		}})
	c := n.connect(t, "alice", false)
	flaky.down.Store(true)
	// The hub learns of the outage when a write fails: that change is
	// answered unavailable too, since ok means saved (it is kept and
	// retried). Each reply is an event to wait on.
	c.Fail(map[string]any{"type": "set_status", "status": "busy"}, "unavailable")
	c.Fail(map[string]any{"type": "set_status", "status": "away"}, "unavailable")
	if code, body := httpGet(t, n.url+"/readyz"); code != 503 || !strings.Contains(body, "store") {
		t.Errorf("/readyz while the store is down = %d %q", code, body)
	}
	if code, _ := httpGet(t, n.url+"/livez"); code != 200 {
		t.Errorf("/livez = %d", code)
	}
	flaky.down.Store(false)
	c.UntilReply(map[string]any{"type": "set_status", "status": "away"}, "")
	if code, _ := httpGet(t, n.url+"/readyz"); code != 200 {
		t.Errorf("/readyz after the store came back = %d", code)
	}
	n.stop()
	m := startNode(t, options{dir: dir})
	if s := m.connect(t, "alice", false).Welcome.Self; s.Manual != "away" {
		t.Errorf("alice after a restart = %+v, want the change made after the outage", s)
	}
}

// redisStore opens a Redis store with keys of its own under the test's
// Redis; it skips without one, except under CI.
func redisStore(t *testing.T, prefix string) store.Store {
	t.Helper()
	url := testenv.RedisURL(t)
	st, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Leave the shared Redis as it was; the store is closed by now.
		opt, _ := redis.ParseURL(url)
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return st
}

func TestPersistenceAcrossRestartOnRedis(t *testing.T) {
	prefix := "presenceweb:" + uuid.NewString() + ":"
	open := func(t *testing.T, _ string) store.Store { return redisStore(t, prefix) }
	n := startNode(t, options{open: open})
	admin := n.connect(t, "root", true)
	cs := admin.OK(map[string]any{"type": "admin.statuses.create", "name": "On site", "presence": "busy"}).Status
	c := n.connect(t, "alice", false)
	c.OK(map[string]any{"type": "set_custom_status", "custom": cs.ID})
	bob := n.connect(t, "bob", false)
	bob.OK(map[string]any{"type": "set_status", "status": "away", "text": "brb"})
	n.stop()

	m := startNode(t, options{open: open})
	c = m.connect(t, "alice", false)
	if s := c.Welcome.Self; s.Status != "busy" || s.Text != "On site" || s.Custom == nil || *s.Custom != cs.ID {
		t.Errorf("alice after restart = %+v", s)
	}
	if len(c.Welcome.Statuses) != 1 || c.Welcome.Statuses[0].Name != "On site" {
		t.Errorf("catalog after restart = %+v", c.Welcome.Statuses)
	}
	bob = m.connect(t, "bob", false)
	if s := bob.Welcome.Self; s.Manual != "away" || s.Text != "brb" {
		t.Errorf("bob after restart = %+v", s)
	}
}
