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
			r(nil, storeError(err))
			return
		}
		r(apply(), nil)
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
// the peak to the current count when asked.
func (h *Hub) adminStats(cmd AdminStats, r reply) {
	stats := func() Result { return Stats{Service: h.serviceNow(), Peak: h.peak, UsersOnline: h.usersOnline()} }
	if !cmd.ResetPeak {
		r(stats(), nil)
		return
	}
	n := h.count()
	h.commit(r, func(ctx context.Context) error { return h.cfg.Store.ResetPeak(ctx, n) }, func() Result {
		h.peak = max(n, h.count())
		return stats()
	})
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
