package webhook_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/presenced/presenced/internal/testenv"
	"github.com/presenced/presenced/webhook"
)

// testRedis is a client of the test Redis and a key prefix of this test's
// own, with a hash tag as a workspace has.
func testRedis(t *testing.T) (redis.UniversalClient, string) {
	t.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("test Redis: %v", err)
	}
	var r [6]byte
	rand.Read(r[:])
	return rdb, "{webhook-test-" + hex.EncodeToString(r[:]) + "}:"
}

// eventually polls cond until it holds, for what only a real Redis TTL
// decides.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %v: %s", within, what)
		}
		<-tick.C
	}
	return time.Since(start)
}

func TestRedisLease(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	a := webhook.NewRedisLease(rdb, prefix, "node-a")
	b := webhook.NewRedisLease(rdb, prefix, "node-b")
	hold := func(l *webhook.RedisLease, ttl time.Duration) bool {
		t.Helper()
		ok, err := l.Hold(ctx, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !hold(a, 2*time.Second) || hold(b, 2*time.Second) {
		t.Fatal("want a to take the free lease and b refused")
	}
	if !hold(a, 5*time.Second) {
		t.Fatal("a could not renew its lease")
	}
	if ttl := rdb.PTTL(ctx, prefix+"webhook:lease").Val(); ttl < 4*time.Second {
		t.Fatalf("renewed lease lives %v, want about 5 s", ttl)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rdb.Get(ctx, prefix+"webhook:lease").Val(); got != "node-a" {
		t.Fatalf("after b's release the lease holds %q: b deleted a's lease", got)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if !hold(b, time.Second) || hold(a, time.Second) {
		t.Fatal("after a's release, want b to take it at once and a refused")
	}

	// A holder that stops renewing loses the lease when its TTL ends.
	c := webhook.NewRedisLease(rdb, prefix+"x:", "node-c")
	d := webhook.NewRedisLease(rdb, prefix+"x:", "node-d")
	if !hold(c, 300*time.Millisecond) {
		t.Fatal("c could not take a free lease")
	}
	took := eventually(t, 2*time.Second, "d takes over c's lease", func() bool { return hold(d, time.Second) })
	if took < 200*time.Millisecond {
		t.Fatalf("d took c's lease after %v, before its 300 ms TTL", took)
	}
	if hold(c, 300*time.Millisecond) {
		t.Fatal("c renewed a lease d holds")
	}
}

// mortal is a RedisLease of a node that can die: once dead it neither
// renews nor releases, as a killed process does.
type mortal struct {
	*webhook.RedisLease
	dead chan struct{}
}

func (m mortal) Hold(ctx context.Context, ttl time.Duration) (bool, error) {
	select {
	case <-m.dead:
		return false, errors.New("dead")
	default:
		return m.RedisLease.Hold(ctx, ttl)
	}
}

func (m mortal) Release(ctx context.Context) error {
	select {
	case <-m.dead:
		return nil
	default:
		return m.RedisLease.Release(ctx)
	}
}

// node is one Sender of a cluster, on the real clock.
type node struct {
	s     *webhook.Sender
	lease mortal
	stop  context.CancelFunc
	done  chan error
}

func startNode(t *testing.T, rdb redis.UniversalClient, prefix, name, url string, ttl time.Duration) *node {
	n := &node{lease: mortal{webhook.NewRedisLease(rdb, prefix, name), make(chan struct{})}, done: make(chan error, 1)}
	s, err := webhook.New(webhook.Config{URL: url, Secret: secret, Interval: 20 * time.Millisecond,
		Lease: n.lease, LeaseTTL: ttl, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	n.s = s
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	go func() { n.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-n.done
		n.done <- nil
	})
	return n
}

func (n *node) wait(t *testing.T) {
	t.Helper()
	select {
	case <-n.done:
		n.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

// TestClusterSendsOnce: three nodes on one Redis see every change; exactly
// one sends each. When the sender dies (no release), another takes over
// within the lease TTL and its seq goes on where the dead one's stopped.
func TestClusterSendsOnce(t *testing.T) {
	rdb, prefix := testRedis(t)
	r := newReceiver(t, nil)
	const ttl = 1500 * time.Millisecond
	nodes := []*node{
		startNode(t, rdb, prefix, "n1", r.srv.URL, ttl),
		startNode(t, rdb, prefix, "n2", r.srv.URL, ttl),
		startNode(t, rdb, prefix, "n3", r.srv.URL, ttl),
	}
	senders := func(ns []*node) (out []*node) {
		for _, n := range ns {
			if n.s.Sending() {
				out = append(out, n)
			}
		}
		return out
	}
	eventually(t, 5*time.Second, "one node sends", func() bool { return len(senders(nodes)) == 1 })
	holder := senders(nodes)[0]
	changeAll := func(ns []*node, from, to int) {
		for i := from; i < to; i++ {
			for _, n := range ns {
				n.s.PresenceChanged(change("alice", []string{"online", "away"}[i%2]))
			}
		}
	}
	changeAll(nodes, 0, 20)

	// The holder dies: it flushes (a killed process would not) and then
	// neither renews nor releases.
	close(holder.lease.dead)
	holder.stop()
	holder.wait(t)
	var rest []*node
	for _, n := range nodes {
		if n != holder {
			rest = append(rest, n)
		}
	}
	took := eventually(t, 2*ttl, "a survivor takes the lease over", func() bool { return len(senders(rest)) == 1 })
	t.Logf("lease taken over %v after the holder stopped", took)
	changeAll(rest, 20, 30)
	for _, n := range rest {
		n.stop()
		n.wait(t)
	}

	seqs := map[float64]int{}
	batchIDs := map[string]bool{}
	for len(r.posts) > 0 {
		p := <-r.posts
		batchIDs[strings.Join(strings.Split(p.header.Get("webhook-id"), "_")[:2], "_")] = true
		for _, e := range p.batch.Events {
			seqs[e["seq"].(float64)]++
		}
	}
	for i := 1; i <= 30; i++ {
		if seqs[float64(i)] != 1 {
			t.Errorf("seq %d delivered %d times, want once", i, seqs[float64(i)])
		}
	}
	if len(seqs) != 30 || len(batchIDs) != 2 {
		t.Errorf("delivered seqs %v from senders %v: want 1..30 from two nodes", seqs, batchIDs)
	}
	if err := rdb.Get(context.Background(), prefix+"webhook:lease").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("after a clean shutdown the lease is still held (%v)", err)
	}
}
