package hub

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/presenced/presenced/store"
)

// writeTimeout bounds one store call.
const writeTimeout = 3 * time.Second

// writer is the hub's only path to the store once it runs. Background state
// (users, service, peak) is kept as the latest value per key and retried
// until written, so an accepted change is never lost to an outage; jobs
// (admin changes that must be durable before they count) are tried once and
// their outcome posted back to the hub.
type writer struct {
	st      store.Store
	log     zerolog.Logger
	healthy atomic.Bool
	wake    chan struct{}

	mu      sync.Mutex
	users   map[string]store.User
	service *store.Service
	peak    int // highest count to record; 0: none
	jobs    []job
}

// job is a write whose outcome the hub waits for.
type job struct {
	write func(ctx context.Context) error
	done  func(err error) // run on the hub goroutine
}

func newWriter(st store.Store, log zerolog.Logger) *writer {
	w := &writer{st: st, log: log, wake: make(chan struct{}, 1), users: map[string]store.User{}}
	w.healthy.Store(true)
	return w
}

func (w *writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *writer) putUser(u store.User) {
	w.mu.Lock()
	w.users[u.ID] = u
	w.mu.Unlock()
	w.poke()
}

func (w *writer) putService(s store.Service) {
	w.mu.Lock()
	w.service = &s
	w.mu.Unlock()
	w.poke()
}

func (w *writer) raisePeak(n int) {
	w.mu.Lock()
	w.peak = max(w.peak, n)
	w.mu.Unlock()
	w.poke()
}

func (w *writer) do(j job) {
	w.mu.Lock()
	w.jobs = append(w.jobs, j)
	w.mu.Unlock()
	w.poke()
}

// run writes until ctx is done. post delivers a job's outcome to the hub.
func (w *writer) run(ctx context.Context, post func(func()) bool) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-retry.C:
		}
		jobs := w.takeJobs()
		for _, j := range jobs {
			err := w.call(ctx, j.write)
			w.note(err)
			done := j.done
			post(func() { done(err) })
		}
		pending := w.flush(ctx)
		if pending == 0 && w.healthy.Load() {
			backoff = minBackoff
			continue
		}
		if !w.healthy.Load() && pending == 0 {
			w.note(w.call(ctx, w.st.Ping))
		}
		if !w.healthy.Load() || pending > 0 {
			retry.Reset(backoff)
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// idle reports whether nothing waits to be written.
func (w *writer) idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.users) == 0 && w.service == nil && w.peak == 0 && len(w.jobs) == 0
}

func (w *writer) takeJobs() []job {
	w.mu.Lock()
	defer w.mu.Unlock()
	jobs := w.jobs
	w.jobs = nil
	return jobs
}

func (w *writer) call(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return f(ctx)
}

// note tracks the store's health from the outcome of a call, logging one
// line when an outage starts and one when it ends. Errors a store returns
// about the data (not found, conflict) say nothing of its health.
func (w *writer) note(err error) {
	if err != nil && (isDataError(err) || ctxEnded(err)) {
		return
	}
	was := w.healthy.Swap(err == nil)
	switch {
	case was && err != nil:
		w.log.Error().Err(err).Msg("store unreachable: presence goes on from memory, writes are retried")
	case !was && err == nil:
		w.log.Info().Msg("store reachable again")
	}
}

// flush writes the latest background state once, keeping what failed for
// the next try. It returns how many writes are still pending.
func (w *writer) flush(ctx context.Context) int {
	w.mu.Lock()
	users, svc, peak := w.users, w.service, w.peak
	w.users, w.service, w.peak = map[string]store.User{}, nil, 0
	w.mu.Unlock()

	var failed []store.User
	broken := false
	// One deadline per chunk of writes, not per write: a context with a
	// timer per user cost more than the rest of a status change.
	const chunk = 64
	cctx, cancel := context.WithCancel(ctx)
	written := 0
	for _, u := range users {
		if broken {
			failed = append(failed, u)
			continue
		}
		if written%chunk == 0 {
			cancel()
			cctx, cancel = context.WithTimeout(ctx, writeTimeout)
		}
		written++
		err := w.st.PutUser(cctx, u)
		w.note(err)
		if err != nil {
			failed = append(failed, u)
			broken = true // the store is down: keep the rest for the retry
		}
	}
	cancel()
	if svc != nil && !broken {
		err := w.call(ctx, func(ctx context.Context) error { return w.st.PutService(ctx, *svc) })
		w.note(err)
		if err == nil {
			svc = nil
		}
	}
	if peak > 0 && !broken {
		err := w.call(ctx, func(ctx context.Context) error { _, err := w.st.RaisePeak(ctx, peak); return err })
		w.note(err)
		if err == nil {
			peak = 0
		}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	for _, u := range failed {
		if _, newer := w.users[u.ID]; !newer {
			w.users[u.ID] = u
		}
	}
	if svc != nil && w.service == nil {
		w.service = svc
	}
	w.peak = max(w.peak, peak)
	n := len(w.users)
	if w.service != nil {
		n++
	}
	if w.peak > 0 {
		n++
	}
	return n
}

// drain writes what is pending until nothing is or timeout passes. The run
// goroutine must have stopped.
func (w *writer) drain(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for w.flush(ctx) > 0 {
		select {
		case <-ctx.Done():
			w.log.Error().Msg("store unreachable at shutdown: some status changes were not saved")
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
