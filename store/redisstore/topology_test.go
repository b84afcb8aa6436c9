package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/presenced/presenced/internal/redistest"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/storetest"
)

// These tests start their own Redis topologies (internal/redistest): they
// need redis-server, redis-sentinel and redis-cli, and skip without them
// except under CI=true.

// tagged returns a fresh prefix with a hash tag, for a topology the test
// owns (nothing to clean up: its processes die with the test).
func tagged() string { return "presencetest:{" + uuid.NewString() + "}:" }

// TestContractOverTLS runs the contract suite on a rediss:// server.
func TestContractOverTLS(t *testing.T) {
	url := redistest.StartTLSServer(t).URL()
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, url, tagged()) })
}

// TestOnSentinel runs the contract suite on a master that Sentinel names,
// then kills the master mid-write.
func TestOnSentinel(t *testing.T) {
	st := redistest.StartSentinel(t)
	t.Run("Contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return open(t, st.URL(), tagged()) })
	})
	t.Run("FailoverKeepsAcknowledgedWrites", func(t *testing.T) {
		keepsAcknowledgedWrites(t, st.URL(), tagged(), func(context.Context) { st.Master.Kill() })
	})
}

// TestOnCluster runs the contract suite on Redis Cluster, then kills the
// master of the workspace's slot mid-write.
func TestOnCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3, 1)
	t.Run("Contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return open(t, c.URL(), tagged()) })
	})
	t.Run("NeedsHashTag", func(t *testing.T) {
		s, err := Open(t.Context(), c.URL(), Options{Prefix: "presence:"})
		if err == nil {
			s.Close()
			t.Fatal("a prefix without a hash tag opened on Redis Cluster")
		}
		if want := "has no hash tag"; !strings.Contains(err.Error(), want) {
			t.Errorf("Open = %v, want it to say %q", err, want)
		}
	})
	t.Run("FailoverKeepsAcknowledgedWrites", func(t *testing.T) {
		prefix := tagged()
		keepsAcknowledgedWrites(t, c.URL(), prefix, func(ctx context.Context) {
			m, err := c.MasterOf(ctx, prefix)
			if err != nil {
				t.Fatal(err)
			}
			m.Kill()
		})
	})
}

// TestWritesWaitForTheReplica checks that a durable write returns only once
// the replica has it, and fails when the replica does not answer.
func TestWritesWaitForTheReplica(t *testing.T) {
	master := redistest.StartServer(t)
	replica := redistest.StartReplica(t, master)
	s, err := Open(t.Context(), master.URL(), Options{Prefix: tagged(), ReplicaTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	if err := s.PutUser(ctx, store.NewUser("u1")); err != nil {
		t.Fatal(err)
	}
	if u, err := s.User(ctx, "u1"); err != nil || u.ID != "u1" {
		t.Fatalf("User = %+v, %v", u, err)
	}
	if got, err := replica.Client().HGet(ctx, s.keys.user("u1"), "manual").Result(); err != nil || got != "online" {
		t.Errorf("the replica holds manual = %q, %v right after an acknowledged write; want online", got, err)
	}

	replica.Pause()
	err = s.CreateCustomStatus(ctx, status.Custom{ID: "c1", Name: "Lunch", Presence: presence.Away})
	if !errors.Is(err, ErrNotReplicated) {
		t.Errorf("create with the replica hung = %v, want ErrNotReplicated", err)
	}
	// Without waiting, the same store writes at once.
	off, err := New(s.rdb, Options{Prefix: s.Prefix(), Replicas: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := off.PutService(ctx, store.Service{Enabled: false, Reason: "admin"}); err != nil {
		t.Errorf("PutService with Replicas -1 and the replica hung = %v", err)
	}
	replica.Resume()
	if err := s.PutUser(ctx, store.NewUser("u2")); err != nil {
		t.Errorf("PutUser once the replica is back = %v", err)
	}
}

// TestNoReplicaNoWait checks that a master without replicas is not waited
// on: WAIT 1 there would fail every write.
func TestNoReplicaNoWait(t *testing.T) {
	s, err := Open(t.Context(), redistest.StartServer(t).URL(), Options{Prefix: tagged()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.PutUser(t.Context(), store.NewUser("u1")); err != nil {
		t.Errorf("PutUser on a master without replicas = %v", err)
	}
}

// keepsAcknowledgedWrites creates custom statuses without pause, kills
// the master (kill) after the first 20 are acknowledged, goes on until 20
// more are acknowledged by the promoted replica, and checks that every
// acknowledged one is there.
func keepsAcknowledgedWrites(t *testing.T, url, prefix string, kill func(context.Context)) {
	s := open(t, url, prefix)
	ctx := t.Context()
	var (
		mu    sync.Mutex
		acked []string
	)
	const before, after = 20, 20
	killed := time.Time{}
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes acknowledged, %d after the kill at %v", len(acked), len(acked)-before, killed)
		}
		id := fmt.Sprintf("c%d", i)
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.CreateCustomStatus(cctx, status.Custom{ID: id, Name: "Status " + id, Presence: presence.Busy})
		cancel()
		if err == nil {
			mu.Lock()
			acked = append(acked, id)
			mu.Unlock()
		}
		if len(acked) == before && killed.IsZero() {
			kill(ctx)
			killed = time.Now()
		}
		if len(acked) == before+after {
			break
		}
		if err != nil {
			time.Sleep(50 * time.Millisecond) // the failover is under way: nothing to wait on
		}
	}
	t.Logf("writes acknowledged again %v after the kill", time.Since(killed).Round(time.Millisecond))
	storetest.HasCustomStatuses(t, s, acked)
}
