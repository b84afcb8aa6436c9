package webhook_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presenced/presenced/webhook"
)

// scriptedLease is a Lease whose answers the test sets.
type scriptedLease struct {
	mu   sync.Mutex
	held bool
	err  error
}

func (l *scriptedLease) Hold(context.Context, time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held, l.err
}

func (l *scriptedLease) Release(context.Context) error { return nil }

func (l *scriptedLease) set(held bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held, l.err = held, err
}

// TestStandby: a node without the lease numbers changes but does not queue
// them; once it holds the lease it sends, seq going on; cut off from the
// lease, it sends until the lease runs out, then drops what it has.
func TestStandby(t *testing.T) {
	r := newReceiver(t, nil)
	lease := &scriptedLease{}
	// The interval is longer than the lease, so that a batch waits in the
	// queue while the lease runs out.
	h := start(t, r.srv.URL, webhook.Config{Lease: lease, LeaseTTL: 6 * time.Second, Interval: 10 * time.Second})
	t0 := h.clock.Now()
	// advanceTo moves the time to t0+d, timer by timer, each time once
	// the n timers (the lease's, the batch's) are armed.
	advanceTo := func(d time.Duration, n int) {
		for h.clock.Now().Sub(t0) < d {
			h.clock.Advance(h.clock.Armed(t, n)[0])
		}
	}
	h.clock.Armed(t, 1) // the lease was asked, and is asked again in 2 s
	h.s.PresenceChanged(change("alice", "online"))
	if h.s.Sending() || h.metric(t, "presence_webhook_queue_events", "") != 0 || h.metric(t, "presence_webhook_sender", "") != 0 {
		t.Fatal("a node without the lease sends or queues")
	}

	lease.set(true, nil)
	advanceTo(2*time.Second, 1)
	h.clock.Armed(t, 1) // taken: it lasts until 8 s, renewed every 2 s
	if !h.s.Sending() || h.metric(t, "presence_webhook_sender", "") != 1 {
		t.Fatal("a node holding the lease does not send")
	}
	h.s.PresenceChanged(change("alice", "away"))
	advanceTo(12*time.Second, 2)
	if p := r.next(t); p.batch.Events[0]["seq"] != 2.0 {
		t.Fatalf("the first change sent has seq %v, want 2: the standby counted the first", p.batch.Events[0]["seq"])
	}

	lease.set(false, errors.New("redis unreachable"))
	h.s.PresenceChanged(change("bob", "online"))
	h.clock.Armed(t, 2) // alice's batch is done with; bob's waits until 22 s
	advanceTo(22*time.Second, 2)
	if h.s.Sending() {
		t.Fatal("a node whose lease ran out unrenewed still sends")
	}
	h.s.PresenceChanged(change("bob", "away"))
	h.runOut(t, webhook.DefaultFlushTimeout)
	r.none(t)
	if got := h.metric(t, "presence_webhook_events_dropped_total", "lease_lost"); got != 1 {
		t.Errorf("dropped as lease_lost %v, want bob's first change", got)
	}
	if got := h.metric(t, "presence_webhook_events_delivered_total", ""); got != 1 {
		t.Errorf("delivered %v, want only alice's second change", got)
	}
	if strings.Count(h.logs.String(), "webhook lease unreachable") != 1 || t.Failed() {
		t.Errorf("logs:\n%s", h.logs.String())
	}
}
