package cluster_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/presenced/presenced/internal/wstest"
	"github.com/presenced/presenced/web/wire"
)

// Issue 11 on three real nodes over one real Redis: the reconnect grace
// holds across nodes and across a node's clean shutdown, expiry is agreed by
// every node with one event each, and a killed node's users say node_lost.

// about counts the presence frames in frames that carry user.
func about(frames []wire.Frame, user string) int {
	n := 0
	for _, f := range frames {
		if wstest.Carries(f, user) {
			n++
		}
	}
	return n
}

func TestGraceAcrossNodes(t *testing.T) {
	r := startRedis(t)
	n1, n2, n3 := startNode(t, r.URL(), "-offline-grace", "2s"), startNode(t, r.URL(), "-offline-grace", "2s"), startNode(t, r.URL(), "-offline-grace", "2s")
	watcher := n3.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"alice", "carol"}})
	alice := n1.connect(t, "alice", false)
	carol := n1.connect(t, "carol", false)
	before := watcher.Sees("alice", "online")
	watcher.Sees("carol", "online")
	watcher.Backlog = nil

	alice.WS.Close(websocket.StatusGoingAway, "reload")
	carol.WS.Close(websocket.StatusGoingAway, "") // does not come back: the clock
	n2.connect(t, "alice", false)                 // the load balancer sent the reload elsewhere
	if e := watcher.Sees("carol", "offline"); wstest.ReasonOf(e) != "disconnect" {
		t.Errorf("carol = %+v, want offline with reason disconnect", e)
	}
	if n := about(watcher.Backlog, "alice"); n != 0 {
		t.Errorf("alice's reload onto another node sent %d frames: %+v", n, watcher.Backlog)
	}
	q := watcher.OK(map[string]any{"type": "query", "users": []string{"alice"}})
	if e := q.Users[0]; e.Status != "online" || !e.Since.Equal(before.Since.Time) {
		t.Errorf("alice = %+v, want online since %v", e, before.Since)
	}
}

// TestRollingDeploy stops a node cleanly: its users, reconnecting to
// another node inside the grace, change nothing anywhere.
func TestRollingDeploy(t *testing.T) {
	r := startRedis(t)
	n1, n2, n3 := startNode(t, r.URL(), "-offline-grace", "3s"), startNode(t, r.URL(), "-offline-grace", "3s"), startNode(t, r.URL(), "-offline-grace", "3s")
	watcher := n3.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"alice", "carol"}})
	alice := n1.connect(t, "alice", false)
	n1.connect(t, "carol", false)
	watcher.Sees("alice", "online")
	watcher.Sees("carol", "online")
	watcher.Backlog = nil

	stopped := time.Now()
	n1.proc.Cmd.Process.Signal(syscall.SIGTERM)
	if code := alice.Closed(); code != websocket.StatusGoingAway {
		t.Errorf("alice's socket closed with %d, want 1001", code)
	}
	n1.proc.Wait()
	n2.connect(t, "alice", false)
	e := watcher.Sees("carol", "offline")
	took := time.Since(stopped)
	t.Logf("clean shutdown: carol offline after %v (grace 3s)", took.Round(time.Millisecond))
	if wstest.ReasonOf(e) != "disconnect" || took < 3*time.Second {
		t.Errorf("carol = %+v after %v, want offline with reason disconnect after the grace", e, took)
	}
	if n := about(watcher.Backlog, "alice"); n != 0 {
		t.Errorf("alice's move off the stopped node sent %d frames: %+v", n, watcher.Backlog)
	}
}

func TestExpiryAgreedByEveryNode(t *testing.T) {
	r := startRedis(t)
	nodes := []*node{startNode(t, r.URL()), startNode(t, r.URL()), startNode(t, r.URL())}
	var watchers []*wstest.Client
	for _, n := range nodes {
		w := n.connect(t, "watcher", false)
		w.OK(map[string]any{"type": "subscribe", "users": []string{"alice"}})
		watchers = append(watchers, w)
	}
	alice := nodes[0].connect(t, "alice", false)
	for _, w := range watchers {
		w.Sees("alice", "online")
	}
	until := time.Now().Add(2 * time.Second).Truncate(time.Second)
	alice.OK(map[string]any{"type": "set_status", "status": "busy", "until": until.Format(time.RFC3339)})
	for _, w := range watchers {
		w.Sees("alice", "busy")
		w.Backlog = nil
	}
	for i, w := range watchers {
		e := w.Sees("alice", "online")
		late := time.Since(until)
		t.Logf("node %d: expiry seen %v after until", i+1, late.Round(time.Millisecond))
		if wstest.ReasonOf(e) != "expired" || late > time.Second {
			t.Errorf("node %d: alice = %+v %v after until, want online with reason expired within 1 s", i+1, e, late)
		}
	}
	// A marker after the expiry: any second expiry event would come before it.
	alice.OK(map[string]any{"type": "set_status", "status": "away"})
	for i, w := range watchers {
		w.Sees("alice", "away")
		if n := about(w.Backlog, "alice"); n != 2 {
			t.Errorf("node %d: %d frames about alice from the expiry to the marker, want 2 (one expiry, the marker): %+v", i+1, n, w.Backlog)
		}
	}
}

func TestKilledNodeSaysNodeLost(t *testing.T) {
	r := startRedis(t)
	n1, n2 := startNode(t, r.URL(), "-offline-grace", "30s"), startNode(t, r.URL(), "-offline-grace", "30s")
	watcher := n1.connect(t, "watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"bob"}})
	n2.connect(t, "bob", false)
	watcher.Sees("bob", "online")
	n2.proc.Cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	e := watcher.Sees("bob", "offline")
	took := time.Since(killed)
	t.Logf("killed node: bob offline after %v (node TTL 2s)", took.Round(time.Millisecond))
	if wstest.ReasonOf(e) != "node_lost" || took > 5*time.Second {
		t.Errorf("bob = %+v after %v, want offline with reason node_lost within 1.25 TTL, no grace on top", e, took)
	}
}
