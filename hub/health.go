package hub

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// probeEvery is how often the store and the backplane are pinged, so that
// readiness follows their health within about a second even when nothing
// is written.
const probeEvery = 500 * time.Millisecond

// pinger is a backplane that can say whether it is reachable; one that
// cannot is taken as always reachable.
type pinger interface {
	Ping(ctx context.Context) error
}

// health is what the probes last found, for Unready; safe from any
// goroutine. Empty strings mean reachable.
type health struct {
	store, backplane atomic.Pointer[string]
}

// probe pings the store and the backplane every probeEvery until ctx is
// done. It runs outside the hub loop: a ping may take its whole timeout.
// The store's outcome goes through the writer's bookkeeping, so an outage
// is logged once, whoever saw it first; once it answers again, pending
// writes are retried at once, and their outcome ends the outage.
func (h *Hub) probe(ctx context.Context) {
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	bp, _ := h.cfg.Backplane.(pinger)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := ping(ctx, h.cfg.Store.Ping)
		if ctx.Err() != nil {
			return
		}
		h.health.store.Store(errText(err))
		switch {
		case err != nil:
			h.writer.note(err)
		case h.writer.healthy.Load():
		case h.writer.idle():
			h.writer.note(nil)
		default:
			// Writes are waiting: let them retry now and say whether the
			// store takes them. A store that answers pings but refuses
			// writes (a read-only replica) must not flap between the two.
			h.writer.poke()
		}
		if bp != nil {
			// The backplane logs its own outages.
			h.health.backplane.Store(errText(ping(ctx, bp.Ping)))
		}
	}
}

// ping calls f with a deadline of probeEvery; no answer by then is an
// error of its own, not a cancelled call.
func ping(ctx context.Context, f func(context.Context) error) error {
	pctx, cancel := context.WithTimeout(ctx, probeEvery)
	defer cancel()
	err := f(pctx)
	if err != nil && pctx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("no answer to a ping within %v", probeEvery)
	}
	return err
}

// errText is what err says, "" for nil.
func errText(err error) *string {
	s := ""
	if err != nil {
		s = err.Error()
	}
	return &s
}

// Unready says why this hub should not get traffic now, or "" when it
// should: the store is still loading, or the store or the backplane did
// not answer the last ping (within about a second of an outage, with no
// write needed to notice it).
func (h *Hub) Unready() string {
	select {
	case <-h.ready:
	default:
		return "loading the store"
	}
	if !h.writer.healthy.Load() {
		if why := h.health.store.Load(); why != nil && *why != "" {
			return "the store is unreachable: " + *why
		}
		return "the store is unreachable"
	}
	if why := h.health.backplane.Load(); why != nil && *why != "" {
		return "the cluster backplane is unreachable: " + *why
	}
	return ""
}
