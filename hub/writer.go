package hub

import (
	"context"
	"errors"
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
//
// Users are written by group commit: every user changed since the last
// round goes to the store in one PutUsers (one bbolt transaction, one Redis
// MULTI/EXEC), and the acknowledgements waiting on them (a user's ok to
// set_status, set_custom_status or set_prefs) are posted back to the hub
// together once the store has answered. A user changed again before its
// round keeps one record, the latest, and every acknowledgement waiting on
// it: the later record carries the earlier change or supersedes it.
type writer struct {
	st      store.Store
	log     zerolog.Logger
	healthy atomic.Bool
	wake    chan struct{}

	mu      sync.Mutex
	users   map[string]pendingUser // the latest record of each changed user
	waiting []waitingAck           // answers waiting on those records, in arrival order
	spare   map[string]pendingUser // the last round's map, cleared, for the next round
	spareW  []waitingAck           // a round's waiting, handed back by the hub once answered
	service *store.Service
	peak    int // highest count to record; 0: none
	jobs    []job

	recs []store.User // flush's buffer, reused; the writer goroutine's (or drain's)
}

// pendingUser is a user record to write. chunk is the PutUsers of its
// round that writes it, set when the round starts.
type pendingUser struct {
	rec   store.User
	chunk int
}

// waitingAck is an answer waiting for user's record to be written.
type waitingAck struct {
	user string
	ack  savedAck
}

// Bounds on what a round keeps for the next (under 10 MB in all): a busy
// hub changes thousands of users per round, and growing the map and
// buffers anew each round was most of what a status change allocated;
// after a long outage far more may be pending, and that is not held.
const (
	keepUsers = 16 << 10
	keepRecs  = 16 << 10
	keepAcks  = 64 << 10
)

// job is a write whose outcome the hub waits for.
type job struct {
	write func(ctx context.Context) error
	done  func(err error) // run on the hub goroutine
}

func newWriter(st store.Store, log zerolog.Logger) *writer {
	w := &writer{st: st, log: log, wake: make(chan struct{}, 1), users: map[string]pendingUser{}}
	w.healthy.Store(true)
	return w
}

func (w *writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// putUser queues u's record. A failed write of it is retried.
func (w *writer) putUser(u store.User) {
	w.mu.Lock()
	w.users[u.ID] = pendingUser{rec: u}
	w.mu.Unlock()
	w.poke()
}

// putUserAck queues u's record like putUser, and ack to be answered on the
// hub goroutine once the store has it or a write of it failed (a failed
// record is retried all the same, without ack).
func (w *writer) putUserAck(u store.User, ack savedAck) {
	w.mu.Lock()
	w.users[u.ID] = pendingUser{rec: u}
	w.waiting = append(w.waiting, waitingAck{user: u.ID, ack: ack})
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
		pending := w.flush(ctx, post)
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

// userChunk bounds one PutUsers: after an outage thousands of users may be
// pending, and one call must fit in writeTimeout.
const userChunk = 512

// flush writes the latest background state once, keeping what failed for
// the next try, and posts the outcome of each user write to those waiting
// on it. It returns how many writes are still pending.
func (w *writer) flush(ctx context.Context, post func(func()) bool) int {
	w.mu.Lock()
	users, waiting, svc, peak := w.users, w.waiting, w.service, w.peak
	w.users, w.waiting, w.service, w.peak = w.spare, w.spareW[:0], nil, 0
	w.spare, w.spareW = nil, nil
	if w.users == nil {
		w.users = map[string]pendingUser{}
	}
	w.mu.Unlock()

	all := w.recs[:0]
	for id, p := range users {
		p.chunk = len(all) / userChunk
		users[id] = p
		all = append(all, p.rec)
	}
	chunks := (len(all) + userChunk - 1) / userChunk
	acks := [][]waitingAck{waiting} // one chunk: the hub hands waiting back once answered
	if chunks != 1 {
		acks = chunkAcks(users, waiting, chunks)
		w.recycle(waiting)
	}
	var failed []store.User
	broken := false
	for i, recs := 0, all; len(recs) > 0; i++ {
		batch := recs[:min(len(recs), userChunk)]
		recs = recs[len(batch):]
		var err error
		if broken {
			err = errStoreDown // the store is down: keep the rest for the retry
		} else {
			err = w.call(ctx, func(ctx context.Context) error { return w.st.PutUsers(ctx, batch) })
			w.note(err)
			broken = err != nil
		}
		if err != nil {
			failed = append(failed, batch...)
		}
		w.answer(acks[i], chunks == 1, err, post)
	}
	clear(all) // let go of the records' strings
	w.recs = nil
	if cap(all) <= keepRecs {
		w.recs = all[:0]
	}
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
	if len(users) <= keepUsers {
		clear(users)
		w.spare = users
	}
	for _, u := range failed {
		if _, newer := w.users[u.ID]; !newer {
			w.users[u.ID] = pendingUser{rec: u}
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

// chunkAcks sorts the answers waiting on a round's users by the chunk that
// writes each one's user (users[...].chunk), keeping their order, in one
// array for all.
func chunkAcks(users map[string]pendingUser, waiting []waitingAck, chunks int) [][]waitingAck {
	if chunks == 0 {
		return nil
	}
	ends := make([]int, chunks) // where each chunk's answers end in all
	for _, wa := range waiting {
		ends[users[wa.user].chunk]++
	}
	for i := 1; i < chunks; i++ {
		ends[i] += ends[i-1]
	}
	all := make([]waitingAck, len(waiting))
	next := make([]int, chunks) // the next free place of each chunk
	copy(next[1:], ends)
	for _, wa := range waiting {
		c := users[wa.user].chunk
		all[next[c]] = wa
		next[c]++
	}
	out := make([][]waitingAck, chunks)
	start := 0
	for i, end := range ends {
		out[i] = all[start:end:end]
		start = end
	}
	return out
}

// recycle keeps a round's emptied list of answers for the next round, so
// that a steady stream of changes does not grow a new one each round.
func (w *writer) recycle(acks []waitingAck) {
	if cap(acks) == 0 || cap(acks) > keepAcks {
		return
	}
	clear(acks)
	w.mu.Lock()
	if w.spareW == nil {
		w.spareW = acks[:0]
	}
	w.mu.Unlock()
}

// errStoreDown is the outcome of a write not tried because an earlier one
// of the same round failed.
var errStoreDown = errors.New("hub: the store failed earlier in this round")

// answer posts the outcome of one PutUsers to the hub, for every answer
// waiting on its users: one post for the whole batch, so that their
// replies go out together. With recycle, the hub then hands acks back.
func (w *writer) answer(acks []waitingAck, recycle bool, err error, post func(func()) bool) {
	if len(acks) == 0 {
		if recycle {
			w.recycle(acks)
		}
		return
	}
	post(func() {
		for _, wa := range acks {
			wa.ack.done(err)
		}
		if recycle {
			w.recycle(acks)
		}
	})
}

// drain writes what is pending until nothing is or timeout passes. The run
// goroutine must have stopped. Acknowledgements still waiting go nowhere:
// the hub has stopped, and their connections with it.
func (w *writer) drain(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	nowhere := func(func()) bool { return false }
	for w.flush(ctx, nowhere) > 0 {
		select {
		case <-ctx.Done():
			w.log.Error().Msg("store unreachable at shutdown: some status changes were not saved")
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
