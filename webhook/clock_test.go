package webhook_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/presenced/presenced/webhook"
)

// fakeClock is a webhook.Clock whose time moves only when a test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	armed   map[*fakeTimer]struct{}
	changed chan struct{} // a timer was armed
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		armed: map[*fakeTimer]struct{}{}, changed: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer() webhook.Timer { return &fakeTimer{c: c, ch: make(chan time.Time, 1)} }

// Advance moves the time by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for t := range c.armed {
		if !t.at.After(c.now) {
			delete(c.armed, t)
			t.ch <- c.now
		}
	}
}

// Armed waits until n timers are armed and returns how far each is from
// firing, soonest first.
func (c *fakeClock) Armed(t *testing.T, n int) []time.Duration {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		var left []time.Duration
		for tm := range c.armed {
			left = append(left, tm.at.Sub(c.now))
		}
		c.mu.Unlock()
		if len(left) >= n {
			slices.Sort(left)
			return left
		}
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatalf("%d timers armed after 10 s, want %d", len(left), n)
		}
	}
}

// AdvanceArmed waits for one armed timer and moves the time to it.
func (c *fakeClock) AdvanceArmed(t *testing.T) time.Duration {
	t.Helper()
	d := c.Armed(t, 1)[0]
	c.Advance(d)
	return d
}

type fakeTimer struct {
	c  *fakeClock
	ch chan time.Time
	at time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.drain()
	t.at = t.c.now.Add(d)
	t.c.armed[t] = struct{}{}
	select {
	case t.c.changed <- struct{}{}:
	default:
	}
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	delete(t.c.armed, t)
	t.drain()
}

func (t *fakeTimer) drain() {
	select {
	case <-t.ch:
	default:
	}
}
