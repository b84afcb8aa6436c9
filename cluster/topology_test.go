package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/presenced/presenced/internal/redistest"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/store/redisstore"
	"github.com/presenced/presenced/store/storetest"
	"github.com/presenced/presenced/web/wire"
)

// followBound is how soon after the master's death the nodes must write
// again and agree on presence: the failover (down after 1 s, then an
// election of about a second) plus one node heartbeat (TTL/4 = 0.5 s at the
// tests' -node-ttl 2s), with slack for a loaded CI machine.
const followBound = 8 * time.Second

// TestSentinelFailover runs three nodes on a master and replica watched by
// three sentinels, and kills the master mid-load.
func TestSentinelFailover(t *testing.T) {
	st := redistest.StartSentinel(t)
	testMasterFailover(t, st.URL(), func(context.Context) { st.Master.Kill() })
}

// TestOnRedisCluster runs the cluster suite on a Redis Cluster of three
// masters with a replica each, then kills the master of the workspace's
// slot mid-load.
func TestOnRedisCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3, 1)
	url := c.URL()
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, redisURL string)
	}{
		{"CrossNodePresence", testCrossNodePresence},
		{"LimitAndAdminAcrossNodes", testLimitAndAdminAcrossNodes},
		{"KilledNodeUsersGoOffline", testKilledNodeUsersGoOffline},
	} {
		t.Run(tt.name, func(t *testing.T) {
			flushAll(t, url) // the previous subtest's nodes died without leaving
			tt.fn(t, url)
		})
	}
	t.Run("ShardedPubSub", func(t *testing.T) {
		flushAll(t, url)
		startNode(t, url)
		channel := redisstore.DefaultPrefix + "events"
		m, err := c.MasterOf(t.Context(), channel)
		if err != nil {
			t.Fatal(err)
		}
		rdb := m.Client()
		deadline := time.Now().Add(waitFor)
		for {
			sharded, err := rdb.PubSubShardChannels(t.Context(), "*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(sharded) == 1 && sharded[0] == channel {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("shard channels on the slot's master = %v, want [%s]", sharded, channel)
			}
			time.Sleep(20 * time.Millisecond) // SSUBSCRIBE is not announced
		}
		if plain, err := rdb.PubSubChannels(t.Context(), "*").Result(); err != nil || len(plain) != 0 {
			t.Errorf("plain channels = %v, %v; want none on Redis Cluster", plain, err)
		}
	})
	t.Run("MasterFailover", func(t *testing.T) {
		flushAll(t, url)
		testMasterFailover(t, url, func(ctx context.Context) {
			m, err := c.MasterOf(ctx, redisstore.DefaultPrefix)
			if err != nil {
				t.Fatal(err)
			}
			m.Kill()
		})
	})
}

// flushAll empties every master of the Redis Cluster at url.
func flushAll(t *testing.T, url string) {
	t.Helper()
	rdb, err := redisstore.Dial(t.Context(), url, redisstore.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	err = rdb.(*redis.ClusterClient).ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error {
		return c.FlushAll(ctx).Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testMasterFailover runs three nodes on redisURL, has an admin create
// custom statuses without pause, and kills the Redis master (kill) once ten
// are acknowledged. The nodes must follow the promoted replica within
// followBound without a restart: writes are acknowledged again, presence
// crosses nodes, a user who left during the failover reads offline
// elsewhere (no ghost), and every acknowledged write is in the store.
func testMasterFailover(t *testing.T, redisURL string, kill func(context.Context)) {
	nodes := []*node{startNode(t, redisURL), startNode(t, redisURL), startNode(t, redisURL)}
	admin := nodes[0].connect(t, "root", true)
	alice := nodes[0].connect(t, "alice", false)
	alice.OK(map[string]any{"type": "subscribe", "all": true})
	bob := nodes[1].connect(t, "bob", false)
	dave := nodes[2].connect(t, "dave", false)
	alice.Sees("bob", "online")
	alice.Sees("dave", "online")

	var acked []string
	next := 0
	create := func() bool {
		next++
		f := admin.Do(map[string]any{"type": "admin.statuses.create", "name": fmt.Sprintf("Status %d", next), "presence": "busy"})
		if f.Type != wire.TypeResult {
			return false
		}
		acked = append(acked, f.Status.ID)
		return true
	}
	for deadline := time.Now().Add(waitFor); len(acked) < 10; {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes acknowledged in %v before the master died, want 10", len(acked), waitFor)
		}
		create() // a loaded machine may miss the replica timeout: not acknowledged, not counted
	}

	kill(t.Context())
	killed := time.Now()
	dave.WS.Close(websocket.StatusNormalClosure, "") // leaves while the master is down
	var writable time.Duration
	for before := len(acked); len(acked) < before+10; {
		if time.Since(killed) > followBound {
			t.Fatalf("%d writes acknowledged in the %v after the master died, want 10", len(acked)-before, followBound)
		}
		if !create() {
			// The hub answered at once that Redis is unreachable; nothing to
			// wait on but the failover.
			time.Sleep(50 * time.Millisecond)
		} else if writable == 0 {
			writable = time.Since(killed)
		}
	}
	alice.Sees("dave", "offline")
	noGhost := time.Since(killed)
	// An ok means saved: right after the failover the writer may still be
	// on its way to the promoted replica, and says so (unavailable).
	for {
		f := bob.Do(map[string]any{"type": "set_status", "status": "busy", "text": "after the failover"})
		if f.Type == wire.TypeResult {
			break
		}
		if f.Code != wire.CodeUnavailable || time.Since(killed) > followBound {
			t.Fatalf("bob's set_status %v after the master died: %+v", time.Since(killed), f)
		}
		time.Sleep(50 * time.Millisecond) // nothing to wait on but the writer's retry
	}
	if e := alice.Sees("bob", "busy"); e.Text != "after the failover" {
		t.Errorf("bob on node 1 after the failover = %+v", e)
	}
	flowing := time.Since(killed)
	t.Logf("after kill -9 of the master: writes acknowledged again in %v, the user who left reads offline in %v, presence crosses nodes in %v",
		writable.Round(time.Millisecond), noGhost.Round(time.Millisecond), flowing.Round(time.Millisecond))
	if noGhost > followBound {
		t.Errorf("dave read offline %v after the master died, want within %v", noGhost, followBound)
	}

	st, err := redisstore.Open(t.Context(), redisURL, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.HasCustomStatuses(t, st, acked)
	// bob's ok came once the store had his status.
	if u, err := st.User(t.Context(), "bob"); err != nil || u.Manual != presence.Busy {
		t.Errorf("bob in the store = %+v, %v; want busy", u, err)
	}
}
