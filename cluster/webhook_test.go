package cluster_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/presenced/presenced/internal/hooktest"
)

// leaseKey is the webhook lease, beside the cluster's keys.
const leaseKey = "{presence}:webhook:lease"

// leaseTaken subscribes to the keyspace events of the webhook lease on r
// and returns a channel that gets a value each time a node takes it (SET),
// as opposed to renewing (PEXPIRE) or releasing (DEL) it.
func leaseTaken(t *testing.T, rdb *redis.Client) <-chan struct{} {
	t.Helper()
	ctx := context.Background()
	if err := rdb.ConfigSet(ctx, "notify-keyspace-events", "K$g").Err(); err != nil {
		t.Fatal(err)
	}
	ps := rdb.Subscribe(ctx, "__keyspace@0__:"+leaseKey)
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	taken := make(chan struct{}, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range ps.Channel() {
			if m.Payload == "set" {
				taken <- struct{}{}
			}
		}
	}()
	t.Cleanup(func() { ps.Close(); <-done })
	return taken
}

func waitTaken(t *testing.T, taken <-chan struct{}, within time.Duration) {
	t.Helper()
	select {
	case <-taken:
	case <-time.After(within):
		t.Fatalf("no node took the webhook lease within %v", within)
	}
}

// Three nodes on one Redis: each change is delivered once, by the lease
// holder; when the holder is killed, another node takes the lease within
// the node TTL and goes on with the same seq count.
func TestWebhookOncePerClusterAndTakeover(t *testing.T) {
	r := startRedis(t)
	rdb := r.Client()
	taken := leaseTaken(t, rdb)

	rcv := hooktest.New(t)
	const interval = 200 * time.Millisecond
	const nodeTTL = 3 * time.Second
	nodes := map[string]*node{}
	for _, id := range []string{"n1", "n2", "n3"} {
		nodes[id] = startNode(t, r.URL(), "-node-id", id, "-node-ttl", nodeTTL.String(), "-webhook-url", rcv.URL,
			"-webhook-secret", hooktest.Secret, "-webhook-interval", interval.String())
	}
	waitTaken(t, taken, waitFor)
	holder, err := rdb.Get(context.Background(), leaseKey).Result()
	if err != nil || nodes[holder] == nil {
		t.Fatalf("lease holder %q (%v), want a node id", holder, err)
	}
	survivor := "n1"
	if holder == survivor {
		survivor = "n2"
	}

	seen := map[string]int{} // user/seq -> copies delivered
	senders := map[string]bool{}
	expect := func(status, previous string, seq uint64) hooktest.Batch {
		t.Helper()
		e, b, before := rcv.Until(t, "alice", status, interval+time.Second)
		for _, o := range append(before, e) {
			seen[fmt.Sprint(o.User, "/", o.Seq)]++
		}
		if e.Previous != previous || e.Seq != seq {
			t.Errorf("alice %s: previous %s, seq %d; want %s and %d", status, e.Previous, e.Seq, previous, seq)
		}
		return b
	}
	// alice is on a node that does not send: its changes still go once.
	alice := nodes[survivor].connect(t, "alice", false)
	senders[expect("online", "offline", 1).Sender] = true
	alice.OK(map[string]any{"type": "set_status", "status": "busy"})
	senders[expect("busy", "online", 2).Sender] = true
	alice.OK(map[string]any{"type": "set_status", "status": "away"})
	senders[expect("away", "busy", 3).Sender] = true
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times, want once", k, n)
		}
	}
	if len(senders) != 1 {
		t.Errorf("batches from %d senders, want the one lease holder", len(senders))
	}

	nodes[holder].proc.Cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	waitTaken(t, taken, nodeTTL+time.Second)
	d := time.Since(killed)
	t.Logf("lease taken over %v after the holder was killed", d)
	if d > nodeTTL {
		t.Errorf("lease taken over %v after the holder died, want within the node TTL (%v)", d, nodeTTL)
	}
	if now, _ := rdb.Get(context.Background(), leaseKey).Result(); now == holder || nodes[now] == nil {
		t.Fatalf("lease now held by %q, want a live node other than %s", now, holder)
	}
	alice.OK(map[string]any{"type": "set_status", "status": "online"})
	if b := expect("online", "away", 4); senders[b.Sender] {
		t.Errorf("batch %s after the takeover came from the dead sender", b.ID)
	}
	rcv.None(t)
}
