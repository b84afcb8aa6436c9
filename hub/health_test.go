package hub

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// downBackplane is a backplane whose Ping fails while down is set.
type downBackplane struct {
	Backplane
	down atomic.Bool
}

func (b *downBackplane) Ping(context.Context) error {
	if b.down.Load() {
		return errors.New("connection refused")
	}
	return nil
}

// TestReadinessFollowsHealthWithoutWrites: with nothing written, an
// outage of the store or of the backplane makes the hub unready within a
// second, saying which, and its end makes it ready again.
func TestReadinessFollowsHealthWithoutWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		bp := &downBackplane{Backplane: &countingBackplane{}}
		h := New(Config{Store: st, Backplane: bp})
		defer run(t, h)()
		if why := h.Unready(); why != "" {
			t.Fatalf("Unready = %q at start", why)
		}
		for _, step := range []struct {
			storeDown, bpDown bool
			want              string
		}{
			{true, false, "the store is unreachable"},
			{false, false, ""},
			{false, true, "the cluster backplane is unreachable: connection refused"},
			{false, false, ""},
		} {
			st.setDown(step.storeDown)
			bp.down.Store(step.bpDown)
			time.Sleep(time.Second)
			synctest.Wait()
			if why := h.Unready(); !strings.HasPrefix(why, step.want) || (step.want == "") != (why == "") {
				t.Errorf("store down %v, backplane down %v: Unready = %q, want %q", step.storeDown, step.bpDown, why, step.want)
			}
		}
	})
}
