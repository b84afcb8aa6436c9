package web

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/presenced/presenced/hub"
)

// A burst of connects is followed, once a second passes without one, by
// one release of freed memory; fewer connects than a burst are not.
func TestReleaseAfterBursts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{Hub: hub.New(hub.Config{}), Secret: testSecret})
		var releases atomic.Int64
		s.release = func() { releases.Add(1) }
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.releaseAfterBursts(ctx) }()
		defer func() { cancel(); <-done }()

		for range 3 { // connects for 3 s
			s.upgrades.Add(burstConnects / 2)
			time.Sleep(burstQuiet)
			synctest.Wait()
		}
		if n := releases.Load(); n != 0 {
			t.Errorf("%d releases during the burst, want none", n)
		}
		time.Sleep(burstQuiet)
		synctest.Wait()
		if n := releases.Load(); n != 1 {
			t.Errorf("%d releases a second after the burst, want 1", n)
		}
		s.upgrades.Add(burstConnects - 1)
		time.Sleep(5 * burstQuiet)
		synctest.Wait()
		if n := releases.Load(); n != 1 {
			t.Errorf("%d releases after fewer connects than a burst, want still 1", n)
		}
	})
}
