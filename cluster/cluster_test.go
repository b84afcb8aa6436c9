package cluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/presenced/presenced/auth"
	"github.com/presenced/presenced/internal/redistest"
	"github.com/presenced/presenced/internal/testproc"
	"github.com/presenced/presenced/internal/wstest"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/redisstore"
	"github.com/presenced/presenced/web/wire"
)

// These tests run real presenced processes against real Redis processes of
// their own (internal/redistest): one server (so one test can restart it),
// Sentinel, and Redis Cluster. They need redis-server, redis-sentinel and
// redis-cli on PATH: locally they skip without them, under CI=true they
// fail.

var binary string

const secret = "cluster-test-secret"

func TestMain(m *testing.M) {
	// go-redis logs each failed dial of the tests' own clients; a killed
	// master makes hundreds.
	redis.SetLogger(quiet{})
	bin, remove, err := testproc.Build("github.com/presenced/presenced/cmd/presenced")
	if err != nil {
		panic(err)
	}
	binary = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// node is one presenced process.
type node struct {
	t    *testing.T
	url  string
	proc *testproc.Proc
}

// startNode starts a presenced process on the Redis at redisURL.
func startNode(t *testing.T, redisURL string, args ...string) *node {
	t.Helper()
	addr := testproc.FreeAddr(t)
	// No reconnect grace unless a test asks: these tests watch users
	// leave, and trust_test.go tests the grace.
	p := testproc.Start(t, exec.Command(binary, append([]string{"-addr", addr, "-admin-addr", "", "-redis", redisURL,
		"-jwt-secret", secret, "-node-ttl", "2s", "-offline-grace", "0"}, args...)...))
	p.WaitOutput(t, "presenced listening", 15*time.Second)
	return &node{t: t, url: "ws://" + addr + "/ws", proc: p}
}

func token(t *testing.T, user string, admin bool) string {
	t.Helper()
	tok, err := auth.Mint([]byte(secret), user, "", admin, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const waitFor = 15 * time.Second

func (n *node) connect(t *testing.T, user string, admin bool) *wstest.Client {
	t.Helper()
	return wstest.Connect(t, n.url, token(t, user, admin), waitFor)
}

// aliceWatchesBob connects alice to n1, subscribed to bob, and bob to n2,
// and waits until alice sees bob online: the start of most cross-node
// scenarios.
func aliceWatchesBob(t *testing.T, n1, n2 *node) (alice, bob *wstest.Client) {
	t.Helper()
	alice = n1.connect(t, "alice", false)
	alice.OK(map[string]any{"type": "subscribe", "users": []string{"bob"}})
	bob = n2.connect(t, "bob", false)
	alice.Sees("bob", "online")
	return alice, bob
}

// startRedis starts one redis-server that fsyncs every write, so that a
// restart keeps the store, as in production.
func startRedis(t *testing.T) *redistest.Server {
	return redistest.StartServer(t, "--appendfsync", "always")
}

func TestCrossNodePresence(t *testing.T) { testCrossNodePresence(t, startRedis(t).URL()) }

func TestLimitAndAdminAcrossNodes(t *testing.T) { testLimitAndAdminAcrossNodes(t, startRedis(t).URL()) }

func TestKilledNodeUsersGoOffline(t *testing.T) { testKilledNodeUsersGoOffline(t, startRedis(t).URL()) }

func testCrossNodePresence(t *testing.T, redisURL string) {
	n1, n2 := startNode(t, redisURL), startNode(t, redisURL)
	alice, bob := aliceWatchesBob(t, n1, n2)
	bob.OK(map[string]any{"type": "idle"})
	alice.Sees("bob", "away")
	bob.OK(map[string]any{"type": "set_status", "status": "busy", "text": "Focus"})
	if e := alice.Sees("bob", "busy"); e.Text != "Focus" {
		t.Errorf("bob on node 1 = %+v", e)
	}
	// A second tab on node 1: bob is online while either tab is.
	bob.OK(map[string]any{"type": "set_status", "status": "online"})
	tab := n1.connect(t, "bob", false)
	alice.Sees("bob", "online")
	bob.WS.Close(websocket.StatusNormalClosure, "")
	tab.OK(map[string]any{"type": "idle"})
	alice.Sees("bob", "away") // the node-2 tab is gone, the node-1 tab idle
	tab.WS.Close(websocket.StatusNormalClosure, "")
	if e := alice.Sees("bob", "offline"); e.LastSeen == nil {
		t.Errorf("bob offline with no last_seen: %+v", e)
	}
	q := alice.OK(map[string]any{"type": "query", "users": []string{"bob"}})
	if q.Users[0].Status != "offline" {
		t.Errorf("query = %+v", q.Users)
	}
}

func testLimitAndAdminAcrossNodes(t *testing.T, redisURL string) {
	nodes := []*node{startNode(t, redisURL, "-connection-limit", "4"), startNode(t, redisURL, "-connection-limit", "4"), startNode(t, redisURL, "-connection-limit", "4")}
	admin := nodes[0].connect(t, "root", true)
	users := []*wstest.Client{admin, nodes[1].connect(t, "u1", false), nodes[2].connect(t, "u2", false), nodes[1].connect(t, "u3", false)}
	if s := users[3].Welcome.Service; s.State != "enabled" || s.Connections != 4 {
		t.Fatalf("4th connection's service = %+v", s)
	}
	over := nodes[2].connect(t, "u4", false) // 5 > 4, on the third node
	if s := over.Welcome.Service; s.State != "disabled" || *s.Reason != "connection_limit" {
		t.Errorf("tripping welcome = %+v", s)
	}
	for _, c := range users {
		c.NextAny(func(f wire.Frame) bool { return f.Type == "service" && f.State == "disabled" })
	}
	admin.NextAny(func(f wire.Frame) bool { return f.Type == "notice" && f.Code == "connection_limit" })

	if f := admin.Do(map[string]any{"type": "admin.service", "enabled": true}); f.Code != "over_limit" {
		t.Errorf("enable over the limit: %+v", f)
	}
	over.WS.Close(websocket.StatusNormalClosure, "")
	users[3].WS.Close(websocket.StatusNormalClosure, "")
	admin.NextAny(func(f wire.Frame) bool { return f.Type == "notice" && f.Code == "ready_to_enable" })
	admin.OK(map[string]any{"type": "admin.service", "enabled": true})
	for _, c := range users[1:3] {
		c.NextAny(func(f wire.Frame) bool { return f.Type == "service" && f.State == "enabled" })
	}

	// Custom statuses made on one node reach the others' users.
	cs := admin.OK(map[string]any{"type": "admin.statuses.create", "name": "In a meeting", "presence": "busy"}).Status
	users[2].NextAny(func(f wire.Frame) bool { return f.Type == "statuses" && f.Op == "created" })
	watcher := nodes[2].connect(t, "watcher", false)
	if len(watcher.Welcome.Statuses) != 1 {
		t.Errorf("node 3 catalog = %+v", watcher.Welcome.Statuses)
	}
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"u1"}})
	users[1].OK(map[string]any{"type": "set_custom_status", "custom": cs.ID})
	watcher.Sees("u1", "busy")
	admin.OK(map[string]any{"type": "admin.statuses.update", "custom": cs.ID, "name": "On a call", "presence": "away"})
	if e := watcher.Sees("u1", "away"); e.Text != "On a call" {
		t.Errorf("after rename on node 1, u1 on node 3 = %+v", e)
	}
	admin.OK(map[string]any{"type": "admin.service", "enabled": false})
	watcher.NextAny(func(f wire.Frame) bool { return f.Type == "service" && f.State == "disabled" && *f.Reason == "admin" })
}

func testKilledNodeUsersGoOffline(t *testing.T, redisURL string) {
	n1, n2, n3 := startNode(t, redisURL), startNode(t, redisURL), startNode(t, redisURL)
	alice := n1.connect(t, "alice", false)
	alice.OK(map[string]any{"type": "subscribe", "all": true})
	n2.connect(t, "bob", false)
	n2.connect(t, "carol", false)
	n3.connect(t, "dave", false)
	alice.Sees("bob", "online")
	alice.Sees("carol", "online")
	alice.Sees("dave", "online")

	n2.proc.Cmd.Process.Signal(syscall.SIGKILL)
	began := time.Now()
	alice.Sees("bob", "offline")
	alice.Sees("carol", "offline")
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("the dead node's users went offline after %v, want within 10 s", d)
	}
	q := alice.OK(map[string]any{"type": "query", "users": []string{"dave", "alice"}})
	for _, e := range q.Users {
		if e.Status != "online" {
			t.Errorf("%s = %s after another node died, want online", e.ID, e.Status)
		}
	}
}

func TestRedisRestartRecovers(t *testing.T) {
	r := startRedis(t)
	n1, n2 := startNode(t, r.URL()), startNode(t, r.URL())
	alice := n1.connect(t, "alice", false)
	alice.OK(map[string]any{"type": "subscribe", "users": []string{"bob", "carol"}})
	bob := n2.connect(t, "bob", false)
	carol := n2.connect(t, "carol", false)
	alice.Sees("bob", "online")
	alice.Sees("carol", "online")

	r.Stop()
	carol.WS.Close(websocket.StatusNormalClosure, "") // leaves while Redis is down
	r.Start()

	// Once the nodes have reconnected, no ghost remains and changes flow.
	alice.Sees("carol", "offline")
	bob.OK(map[string]any{"type": "set_status", "status": "busy"})
	alice.Sees("bob", "busy")
}

// TestLongRedisOutageNoBlink: Redis out of reach for longer than the nodes'
// TTL, so that every heartbeat key expires meanwhile. Once it is back, no
// node takes the other for dead: a user connected all along never reads
// offline elsewhere, and changes flow again.
func TestLongRedisOutageNoBlink(t *testing.T) {
	r := startRedis(t)
	n1, n2 := startNode(t, r.URL(), "-node-id", "one"), startNode(t, r.URL(), "-node-id", "two")
	alice, bob := aliceWatchesBob(t, n1, n2)

	r.Stop()
	time.Sleep(3 * time.Second) // the outage itself: longer than the nodes' 2 s TTL
	r.Start()
	rdb := r.Client()
	// Both nodes have beaten again (each looked for dead nodes then).
	ctx := context.Background()
	testproc.Until(t, "both heartbeat keys back", waitFor, func() error {
		if n, err := rdb.Exists(ctx, "{presence}:node:one", "{presence}:node:two").Result(); err != nil || n < 2 {
			return fmt.Errorf("%d of 2 keys, %v", n, err)
		}
		return nil
	})
	bob.UntilReply(map[string]any{"type": "set_status", "status": "busy"}, "")
	alice.Sees("bob", "busy")
	for _, f := range alice.Backlog {
		if f.Type == wire.TypePresence {
			for _, e := range f.Users {
				if e.ID == "bob" && e.Status == "offline" {
					t.Errorf("alice read bob offline after the outage (%s); he was connected all along", wstest.ReasonOf(e))
				}
			}
		}
	}
}

// TestLastMessageLostIsRepaired: a node's last message is lost, with none
// after it to show the gap. Here node two "wrote" bob's new status to the
// store and recorded the message's sequence number, but the message never
// came: node one resyncs within two heartbeats and alice sees bob busy.
func TestLastMessageLostIsRepaired(t *testing.T) {
	r := startRedis(t)
	n1, n2 := startNode(t, r.URL(), "-node-id", "one"), startNode(t, r.URL(), "-node-id", "two")
	alice, _ := aliceWatchesBob(t, n1, n2)

	ctx := context.Background()
	st, err := redisstore.Open(ctx, r.URL(), redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutUser(ctx, store.User{ID: "bob", Manual: presence.Busy, Text: "lost on the way"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Client().HIncrBy(ctx, "{presence}:seqs", "two", 1).Err(); err != nil {
		t.Fatal(err)
	}
	if e := alice.Sees("bob", "busy"); e.Text != "lost on the way" {
		t.Errorf("bob on node one = %+v", e)
	}
}

// TestNodeDeadDuringOutageIsRemoved: a node killed while Redis was out of
// reach leaves no ghost: once Redis is back, its users read offline on the
// node that survived (after the TTL that node waits for the others).
func TestNodeDeadDuringOutageIsRemoved(t *testing.T) {
	r := startRedis(t)
	n1, n2 := startNode(t, r.URL()), startNode(t, r.URL())
	alice, _ := aliceWatchesBob(t, n1, n2)

	r.Stop()
	n2.proc.Cmd.Process.Signal(syscall.SIGKILL)
	time.Sleep(3 * time.Second) // the outage: longer than the nodes' 2 s TTL
	r.Start()
	if e := alice.Sees("bob", "offline"); wstest.ReasonOf(e) != "node_lost" {
		t.Errorf("bob offline with reason %q, want node_lost", wstest.ReasonOf(e))
	}
}

// Right after a connection on one node trips the limit, admin.stats on
// every node gives the workspace's connections and peak, not its own view.
func TestAdminStatsAgreeAcrossNodes(t *testing.T) {
	r := startRedis(t)
	n1, n2 := startNode(t, r.URL(), "-connection-limit", "3"), startNode(t, r.URL(), "-connection-limit", "3")
	admin2 := n2.connect(t, "root2", true)
	admin1 := n1.connect(t, "root1", true)
	n1.connect(t, "u1", false)
	over := n1.connect(t, "u2", false) // the 4th of 3
	if s := over.Welcome.Service; s.State != "disabled" {
		t.Fatalf("tripping welcome = %+v", s)
	}
	for name, admin := range map[string]*wstest.Client{"node 1": admin1, "node 2": admin2} {
		st := admin.OK(map[string]any{"type": "admin.stats"})
		if st.Connections != 4 || st.Peak != 4 {
			t.Errorf("admin.stats on %s: connections %d, peak %d; want 4 and 4", name, st.Connections, st.Peak)
		}
	}
}

// After an admin on one node resets the peak, connections on another node
// raise it again, even under the peak that node saw before the reset.
func TestPeakAfterResetCountsEveryNode(t *testing.T) {
	r := startRedis(t)
	n1, n2 := startNode(t, r.URL()), startNode(t, r.URL())
	admin1, admin2 := n1.connect(t, "root1", true), n2.connect(t, "root2", true)
	admin1.OK(map[string]any{"type": "subscribe", "users": []string{"a", "b", "c"}})
	open := func(users ...string) []*wstest.Client {
		var cs []*wstest.Client
		for _, u := range users {
			cs = append(cs, n2.connect(t, u, false))
			admin1.Sees(u, "online")
		}
		return cs
	}
	closeAll := func(cs []*wstest.Client) {
		for _, c := range cs {
			c.WS.Close(websocket.StatusNormalClosure, "")
			admin1.Sees(c.Welcome.User.ID, "offline")
		}
	}
	closeAll(open("a", "b", "c")) // node 2 saw 5
	if st := admin1.OK(map[string]any{"type": "admin.stats", "reset_peak": true}); st.Peak != 2 {
		t.Fatalf("peak after reset = %d, want 2", st.Peak)
	}
	cs := open("a", "b") // 4, under node 2's old 5
	// Two admin jobs in a row on node 2: the second runs after the writer
	// round that recorded the peak.
	admin2.OK(map[string]any{"type": "admin.stats"})
	admin2.OK(map[string]any{"type": "admin.stats"})
	closeAll(cs)
	if st := admin1.OK(map[string]any{"type": "admin.stats"}); st.Peak != 4 || st.Connections != 2 {
		t.Errorf("admin.stats = connections %d, peak %d; want 2 and 4", st.Connections, st.Peak)
	}
}
