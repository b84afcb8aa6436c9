package hub

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
)

// countingBackplane is the workspace's count as a backplane keeps it: local
// is this node's count as told, which a failed call changes too (the real
// one writes it back later), and others every other node's connections.
type countingBackplane struct {
	mu     sync.Mutex
	others int
	local  int
	fail   bool // AddConns fails, as with Redis down
}

func (b *countingBackplane) Publish(ClusterEvent) {}

func (b *countingBackplane) AddConns(_ context.Context, delta int) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.local += delta
	if b.fail {
		return 0, errors.New("redis down")
	}
	return b.local + b.others, nil
}

func (b *countingBackplane) Count(context.Context) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.local + b.others, nil
}

func (b *countingBackplane) setFail(fail bool) { b.mu.Lock(); b.fail = fail; b.mu.Unlock() }

func (b *countingBackplane) localCount() int { b.mu.Lock(); defer b.mu.Unlock(); return b.local }

// The hub counts each connection in the workspace's count through the
// backplane, judges the limit on that count, and takes back every
// connection it added, even one whose count failed.
func TestHubCountsThroughBackplane(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bp := &countingBackplane{others: 3}
		h := New(Config{Store: newMemStore(), Backplane: bp, Limit: 4})
		defer run(t, h)()
		admin := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "ann", Admin: true, RequestID: "h1"}, admin)
		synctest.Wait()
		if w := admin.welcome(); w == nil || w.Service.Connections != 4 || !w.Service.Enabled {
			t.Fatalf("welcome = %+v, want 4 connections (3 elsewhere), enabled", w)
		}
		tripper := &sink{}
		h.Connect(ConnInfo{ID: 2, User: "bob", RequestID: "h2"}, tripper)
		synctest.Wait()
		if w := tripper.welcome(); w == nil || w.Service.Connections != 5 || w.Service.Enabled {
			t.Fatalf("welcome of the 5th = %+v, want 5 connections, disabled", w)
		}

		bp.setFail(true) // the hub estimates this one's count
		h.Connect(ConnInfo{ID: 3, User: "cy"}, &sink{})
		synctest.Wait()
		bp.setFail(false)
		for _, id := range []ConnID{1, 2, 3} {
			h.Disconnect(id)
		}
		synctest.Wait()
		if n := bp.localCount(); n != 0 {
			t.Errorf("this node's count in the backplane = %d after every disconnect, want 0", n)
		}
	})
}
