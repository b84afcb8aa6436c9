package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// maxResponse is how much of a receiver's answer is read: enough for an
// error message in the log, too little for a hostile receiver to matter.
const maxResponse = 4 << 10

// dropLogEvery spaces the logs of a full queue.
const dropLogEvery = time.Minute

// Sender batches, signs and posts a workspace's changes; see the package
// doc. Its change methods are safe for concurrent use and never block.
type Sender struct {
	cfg     Config
	key     []byte
	client  *http.Client
	log     zerolog.Logger
	clock   Clock
	m       *metrics
	dropOld func() // counts one event pushed out of the full queue

	// idPrefix starts every event id and msgPrefix every webhook-id: random
	// per process, so ids never repeat across restarts and nodes.
	idPrefix, msgPrefix string
	// endpoint is the URL without its query, which may hold a token: for
	// logs.
	endpoint string
	// host is all of the URL the start-up line shows: a path may hold a
	// token too.
	host string

	started atomic.Bool
	// heldUntil is when this node's lease ends, in unix nanoseconds; with
	// no Lease it is not read.
	heldUntil atomic.Int64
	// wake says the queue got its first or its Batch-th event; sent and
	// drained under mu, so a wake is never stale.
	wake chan struct{}

	mu             sync.Mutex
	q              *queue
	seqs           map[string]uint64 // by user: the number of its last change
	lastID         uint64
	inflight       int       // events in the batch in flight
	inflightOldest time.Time // queued time of its oldest event
	dropsUnlogged  int       // queue_full drops not yet logged
	dropLogged     time.Time // when a queue_full drop was last logged
	stopped        bool      // Run is over: changes are no longer queued

	// Owned by the Run goroutine.
	events  []event
	batches uint64
}

// batch is one POST: the same id and body on every attempt.
type batch struct {
	id     string
	body   []byte
	events int
	oldest time.Time // queued time of the oldest event
}

// New returns a Sender for cfg, which must Validate.
func New(cfg Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key, _ := Key(cfg.Secret) // Validate checked it
	cfg = cfg.withDefaults()
	var r [8]byte
	rand.Read(r[:])
	node := hex.EncodeToString(r[:])
	s := &Sender{
		cfg: cfg,
		key: key,
		client: &http.Client{
			Transport: cfg.Transport,
			// The URL is operator configuration, but a receiver must not
			// bounce the signed batches elsewhere: a 3xx is a failure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log:       cfg.Log.With().Str("component", "webhook").Logger(),
		clock:     cfg.Clock,
		idPrefix:  "evt_" + node + "_",
		msgPrefix: "msg_" + node + "_",
		wake:      make(chan struct{}, 1),
		q:         newQueue(cfg.Queue),
		seqs:      map[string]uint64{},
	}
	u, _ := url.Parse(cfg.URL) // Validate parsed it
	u.RawQuery, u.Fragment = "", ""
	s.endpoint, s.host = u.String(), u.Host
	s.m = newMetrics(s)
	s.dropOld = s.m.dropped.WithLabelValues(dropQueueFull).Inc
	if cfg.Lease == nil {
		s.m.leaseHeld.Set(1)
	}
	if cfg.Registerer != nil {
		if err := s.m.register(cfg.Registerer); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// PresenceChanged queues a change of one user's status. Every node of a
// cluster numbers every change, so the user's seq goes on from the same
// count on whichever node sends.
func (s *Sender) PresenceChanged(c PresenceChange) { s.enqueue(event{p: c}) }

// ServiceChanged queues the service turning on or off.
func (s *Sender) ServiceChanged(c ServiceChange) { s.enqueue(event{other: c}) }

// StatusesChanged queues a change to the custom status catalog.
func (s *Sender) StatusesChanged(c StatusesChange) { s.enqueue(event{other: c}) }

// enqueue numbers e and queues it, unless another node sends or Run is
// over.
func (s *Sender) enqueue(e event) {
	now := s.clock.Now()
	s.mu.Lock()
	if e.other == nil {
		e.seq = s.seqs[e.p.User] + 1
		s.seqs[e.p.User] = e.seq
	}
	if !s.holds(now) || s.stopped {
		s.mu.Unlock()
		return
	}
	s.lastID++
	e.id, e.queued = s.lastID, now
	var logDrops int
	if s.q.push(e) {
		s.dropOld()
		s.dropsUnlogged++
		if now.Sub(s.dropLogged) >= dropLogEvery {
			logDrops, s.dropsUnlogged, s.dropLogged = s.dropsUnlogged, 0, now
		}
	}
	if n := s.q.n; n == 1 || n == s.cfg.Batch {
		// Under the lock, so that next can drop a wake it has seen.
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
	if logDrops > 0 {
		s.log.Error().Int("dropped", logDrops).Int("queue", s.cfg.Queue).
			Msg("webhook queue full: dropping the oldest events (logged at most once a minute)")
	}
}

// holds reports whether this node sends at now.
func (s *Sender) holds(now time.Time) bool {
	return s.cfg.Lease == nil || now.UnixNano() < s.heldUntil.Load()
}

// Sending reports whether this node is the one that sends: it holds the
// lease, or there is no lease.
func (s *Sender) Sending() bool { return s.holds(s.clock.Now()) }

// backlog is the number of undelivered events and the oldest one's age.
func (s *Sender) backlog() (int, time.Duration) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.q.n + s.inflight
	switch {
	case s.inflight > 0:
		return n, now.Sub(s.inflightOldest)
	case s.q.n > 0:
		return n, now.Sub(s.q.oldest().queued)
	}
	return 0, 0
}

// Run sends batches until ctx ends, then goes on for up to FlushTimeout to
// empty the queue, drops (and counts) what is left, and gives up the lease.
// It joins every goroutine it starts.
func (s *Sender) Run(ctx context.Context) error {
	if s.started.Swap(true) {
		return errors.New("webhook: Run called twice")
	}
	// sendCtx outlives ctx by the flush: posts and the lease use it.
	sendCtx, endSend := context.WithCancel(context.WithoutCancel(ctx))
	defer endSend()
	var wg sync.WaitGroup
	if s.cfg.Lease != nil {
		wg.Go(func() { s.holdLease(sendCtx) })
	}
	wg.Go(func() {
		select {
		case <-ctx.Done():
		case <-sendCtx.Done():
			return
		}
		t := s.clock.NewTimer()
		t.Reset(s.cfg.FlushTimeout)
		defer t.Stop()
		select {
		case <-t.C():
			endSend()
		case <-sendCtx.Done():
		}
	})

	s.log.Info().Str("host", s.host).Stringer("interval", s.cfg.Interval).Int("queue", s.cfg.Queue).Msg("webhooks on")
	timer := s.clock.NewTimer()
	for {
		b, ok := s.next(ctx, sendCtx, timer)
		if !ok {
			break
		}
		s.deliver(ctx, sendCtx, b, timer)
	}
	s.mu.Lock()
	left := s.q.n
	s.q.take(nil, left)
	s.stopped = true
	s.mu.Unlock()
	if left > 0 {
		s.m.dropped.WithLabelValues(resultShutdown).Add(float64(left))
		s.log.Error().Int("dropped", left).Dur("flush", s.cfg.FlushTimeout).Msg("webhook events still queued at shutdown are lost")
	}
	endSend()
	wg.Wait()
	s.client.CloseIdleConnections()
	if s.cfg.Lease != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if err := s.cfg.Lease.Release(rctx); err != nil {
			s.log.Warn().Err(err).Msg("webhook lease not released: another node takes over when it expires")
		}
		s.heldUntil.Store(0)
		s.m.leaseHeld.Set(0)
	}
	return nil
}

// next waits for the next batch: Batch events, or the oldest queued event
// having waited Interval, or, once ctx has ended, whatever is queued. It
// reports false when there is nothing more to send.
func (s *Sender) next(ctx, sendCtx context.Context, timer Timer) (*batch, bool) {
	for {
		now := s.clock.Now()
		s.mu.Lock()
		if lost := s.q.n; lost > 0 && !s.holds(now) {
			s.q.take(nil, lost)
			s.mu.Unlock()
			s.m.dropped.WithLabelValues(resultLeaseLost).Add(float64(lost))
			s.log.Warn().Int("dropped", lost).Msg("webhook lease lost: another node sends; dropping this node's queue")
			continue
		}
		if sendCtx.Err() != nil {
			s.mu.Unlock()
			return nil, false
		}
		flushing := ctx.Err() != nil
		select {
		case <-s.wake: // what it says is seen below
		default:
		}
		n := s.q.n
		var wait time.Duration
		if n > 0 {
			wait = s.q.oldest().queued.Add(s.cfg.Interval).Sub(now)
		}
		if n >= s.cfg.Batch || n > 0 && (flushing || wait <= 0) {
			s.events = s.q.take(s.events, s.cfg.Batch)
			s.inflight, s.inflightOldest = len(s.events), s.events[0].queued
			s.mu.Unlock()
			return s.batch(), true
		}
		s.mu.Unlock()
		if flushing {
			return nil, false
		}
		var tick <-chan time.Time
		if n > 0 {
			timer.Reset(wait)
			tick = timer.C()
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-tick:
		}
		timer.Stop()
	}
}

// batch encodes s.events.
func (s *Sender) batch() *batch {
	s.batches++
	return &batch{
		id:     s.msgPrefix + strconv.FormatUint(s.batches, 10),
		body:   encodeBatch(s.idPrefix, s.events),
		events: len(s.events),
		oldest: s.events[0].queued,
	}
}

// deliver posts b until a 2xx, retrying with backoff for up to RetryFor,
// unless the flush runs out or another node takes over the sending.
func (s *Sender) deliver(ctx, sendCtx context.Context, b *batch, timer Timer) {
	first := s.clock.Now()
	for attempt := 1; ; attempt++ {
		err := s.post(sendCtx, b)
		if err == nil {
			s.done(b, resultDelivered, nil)
			return
		}
		now := s.clock.Now()
		left := first.Add(s.cfg.RetryFor).Sub(now)
		switch {
		case sendCtx.Err() != nil:
			s.done(b, resultShutdown, err)
			return
		case !s.holds(now):
			s.done(b, resultLeaseLost, err)
			return
		case left <= 0:
			s.done(b, resultExpired, err)
			return
		}
		wait := min(s.backoff(attempt), left)
		s.log.Warn().Err(err).Str("webhook_id", b.id).Int("attempt", attempt).Dur("retry_in", wait).Msg("webhook not delivered")
		// On SIGTERM, stop waiting and try once more within the flush.
		var stop <-chan struct{}
		if ctx.Err() == nil {
			stop = ctx.Done()
		}
		timer.Reset(wait)
		select {
		case <-timer.C():
		case <-stop:
		case <-sendCtx.Done():
		}
		timer.Stop()
	}
}

// backoff is the wait after the attempt-th failed attempt: full jitter,
// uniform between MinBackoff and MinBackoff<<attempt capped at MaxBackoff.
func (s *Sender) backoff(attempt int) time.Duration {
	ceiling := s.cfg.MinBackoff
	for range attempt {
		if ceiling >= s.cfg.MaxBackoff/2 {
			ceiling = s.cfg.MaxBackoff
			break
		}
		ceiling *= 2
	}
	return s.cfg.MinBackoff + time.Duration(s.cfg.Rand()*float64(ceiling-s.cfg.MinBackoff))
}

// done ends b's delivery with result.
func (s *Sender) done(b *batch, result string, err error) {
	s.mu.Lock()
	s.inflight = 0
	s.mu.Unlock()
	s.m.deliveries.WithLabelValues(result).Inc()
	if result == resultDelivered {
		s.m.delivered.Add(float64(b.events))
		s.m.latency.Observe(s.clock.Now().Sub(b.oldest).Seconds())
		return
	}
	s.m.dropped.WithLabelValues(result).Add(float64(b.events))
	s.log.Error().Err(err).Str("webhook_id", b.id).Int("events", b.events).Str("result", result).
		Msg("webhook batch dropped")
}

// post makes one attempt at b: nil for a 2xx.
func (s *Sender) post(ctx context.Context, b *batch) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	start := s.clock.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(b.body))
	if err != nil {
		return fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "presenced-webhook/1")
	req.Header.Set(HeaderID, b.id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(start.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(s.key, b.id, start, b.body))
	resp, err := s.client.Do(req)
	outcome := attemptOK
	defer func() {
		s.m.attempts.WithLabelValues(outcome).Inc()
		s.m.request.Observe(s.clock.Now().Sub(start).Seconds())
	}()
	if err != nil {
		outcome = attemptError
		if errors.Is(err, context.DeadlineExceeded) {
			outcome = attemptTimeout
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL may carry a token in its query
		}
		return fmt.Errorf("POST %s: %w", s.endpoint, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	outcome = attemptStatus
	if len(answer) > 200 {
		answer = answer[:200]
	}
	return fmt.Errorf("webhook receiver answered %s: %q", resp.Status, answer)
}

// holdLease takes and renews the lease every LeaseTTL/3 until ctx ends.
func (s *Sender) holdLease(ctx context.Context) {
	every := s.cfg.LeaseTTL / 3
	timer := s.clock.NewTimer()
	defer timer.Stop()
	var held, failing bool
	for {
		start := s.clock.Now()
		hctx, cancel := context.WithTimeout(ctx, every)
		ok, err := s.cfg.Lease.Hold(hctx, s.cfg.LeaseTTL)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// A lease this node holds lasts its TTL whatever Redis says
			// now: heldUntil stays, and runs out unless a renewal lands.
			if !failing {
				s.log.Warn().Err(err).Msg("webhook lease unreachable: this node stops sending when its lease runs out")
			}
			failing = true
		default:
			if failing {
				s.log.Info().Msg("webhook lease reachable again")
			}
			failing = false
			until := int64(0)
			if ok {
				until = start.Add(s.cfg.LeaseTTL).UnixNano()
			}
			s.heldUntil.Store(until)
		}
		if now := s.holds(s.clock.Now()); now != held {
			held = now
			if held {
				s.m.leaseHeld.Set(1)
				s.log.Info().Msg("this node sends the webhooks")
			} else {
				s.m.leaseHeld.Set(0)
				s.log.Info().Msg("another node sends the webhooks")
			}
		}
		timer.Reset(every)
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		}
	}
}
