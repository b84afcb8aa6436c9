package hub

import (
	"context"
	"errors"

	"github.com/presenced/presenced/store"
)

// commit is the shape of every admin change that must be durable before it
// counts: write runs on the writer goroutine; back on the hub goroutine, a
// failed write answers its error (see storeError), and a good one runs
// apply, which changes the hub's state and returns the answer.
func (h *Hub) commit(r reply, write func(ctx context.Context) error, apply func() Result) {
	h.writer.do(job{write: write, done: func(err error) {
		if err != nil {
			r.send(nil, storeError(err))
			return
		}
		r.send(apply(), nil)
	}})
}

// storeError turns a failed write into the error a client sees: an *Error
// the write returned as is, else what the store's error means.
func storeError(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, store.ErrNotFound):
		return errorf(CodeNotFound, "the custom status no longer exists")
	}
	return errUnavailable()
}

// adminStats answers the workspace's figures (admin.stats), after setting
// the peak to the current count when asked. With a backplane the count and
// the peak are read from it and the store, one round trip off the hub
// goroutine: this node's view of them may be a heartbeat old, and every
// node must give the same figures.
func (h *Hub) adminStats(cmd AdminStats, r reply) {
	bp, st := h.cfg.Backplane, h.cfg.Store
	n, peak := h.count(), h.peak
	if bp == nil && !cmd.ResetPeak {
		r.send(h.stats(n, peak), nil)
		return
	}
	h.commit(r, func(ctx context.Context) error {
		if bp != nil {
			var err error
			if n, err = bp.Count(ctx); err != nil {
				return errFigures(err)
			}
		}
		if cmd.ResetPeak {
			peak = n
			return st.ResetPeak(ctx, n)
		}
		p, err := st.Peak(ctx)
		if err != nil {
			return errFigures(err)
		}
		// The peak a node recorded reaches the store a moment later.
		peak = max(p, n)
		return nil
	}, func() Result {
		if bp == nil {
			n = h.count() // this node's count is the workspace's, and current
		}
		if cmd.ResetPeak {
			h.peak = max(peak, n)
			peak = h.peak
		}
		return h.stats(n, peak)
	})
}

// stats is the answer to admin.stats with the workspace's count n and peak.
func (h *Hub) stats(n, peak int) Stats {
	sv := h.serviceNow()
	sv.Connections = n
	return Stats{Service: sv, Peak: peak, UsersOnline: h.usersOnline()}
}

// errFigures says why admin.stats could not read the workspace's figures.
func errFigures(err error) *Error {
	return errorf(CodeUnavailable, "the workspace's figures cannot be read now (%v); try again shortly", err)
}

// adminSettings changes the workspace's default idle limit.
func (h *Hub) adminSettings(cmd AdminSettings, r reply) {
	s := store.Settings{IdleLimit: cmd.IdleLimit}
	h.commit(r, func(ctx context.Context) error { return h.cfg.Store.PutSettings(ctx, s) }, func() Result {
		h.settings = s
		h.publish(SettingsChanged{Settings: s})
		for _, c := range h.conns {
			h.scheduleIdle(c)
		}
		return SettingsResult{IdleLimit: s.IdleLimit}
	})
}

func (h *Hub) usersOnline() int {
	n := 0
	for _, u := range h.users {
		if u.live().Live() {
			n++
		}
	}
	return n
}

// broadcast sends m to every connection.
func (h *Hub) broadcast(m Message) {
	for _, c := range h.conns {
		c.sink.Send(m)
	}
}
