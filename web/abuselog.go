package web

import (
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// What the abuse log says of each kind of abuse it counts.
var abuseWhat = map[string]string{
	"auth_failed":    "hellos refused: bad, expired or missing tokens",
	"auth_timeout":   "connections closed for not saying hello in time",
	"too_big":        "connections closed for a frame over the size limit",
	"rate_limited":   "connections closed for flooding commands (4008)",
	refusedCapacity:  "connections refused: the node's connection budget is spent",
	refusedPending:   "connections refused: the share for connections not signed in is spent",
	refusedPerSource: "connections refused: too many from one address not signed in",
}

// maxAbuseSources is how many source addresses one abuse line names; the
// rest are counted together.
const maxAbuseSources = 8

// abuseLog writes what hostile or broken clients do, sampled so that an
// attack cannot flood the log: the first event of a kind is written at
// once, later ones within the interval are counted and written together
// (one line per kind per interval, with the count and the busiest source
// addresses) when it ends.
type abuseLog struct {
	log   zerolog.Logger
	every time.Duration

	mu      sync.Mutex
	stopped bool
	kinds   map[string]*abuseTally
}

// abuseTally is one kind's events not yet written.
type abuseTally struct {
	count    int
	sources  map[string]int
	others   int
	lastLine time.Time
	due      *time.Timer // armed while counted events wait for their line
}

func newAbuseLog(log zerolog.Logger, every time.Duration) *abuseLog {
	return &abuseLog{log: log, every: every, kinds: make(map[string]*abuseTally)}
}

// note counts one event of kind from source (an address, with or without
// its port).
func (a *abuseLog) note(kind, source string) {
	if host, _, err := net.SplitHostPort(source); err == nil {
		source = host
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return
	}
	t := a.kinds[kind]
	if t == nil {
		t = &abuseTally{sources: make(map[string]int)}
		a.kinds[kind] = t
	}
	t.count++
	if _, ok := t.sources[source]; ok || len(t.sources) < maxAbuseSources {
		t.sources[source]++
	} else {
		t.others++
	}
	now := time.Now()
	if t.due != nil {
		return // a line is due when the interval ends
	}
	if wait := t.lastLine.Add(a.every).Sub(now); wait > 0 {
		t.due = time.AfterFunc(wait, func() { a.flush(kind) })
		return
	}
	a.writeLocked(kind, t, now)
}

func (a *abuseLog) flush(kind string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.kinds[kind]; t != nil && !a.stopped {
		t.due = nil
		a.writeLocked(kind, t, time.Now())
	}
}

// writeLocked writes t's line and starts a new interval. Holds a.mu.
func (a *abuseLog) writeLocked(kind string, t *abuseTally, now time.Time) {
	if t.count == 0 {
		return
	}
	src := zerolog.Dict()
	for s, n := range t.sources {
		src.Int(s, n)
	}
	ev := a.log.Warn().Str("abuse", kind).Int("count", t.count).Dict("sources", src)
	if t.others > 0 {
		ev = ev.Int("other_sources", t.others)
	}
	if !t.lastLine.IsZero() {
		ev = ev.Dur("since_last", now.Sub(t.lastLine))
	}
	ev.Msg(abuseWhat[kind])
	t.count, t.others, t.lastLine = 0, 0, now
	clear(t.sources)
}

// stop writes what is still counted and stops the timers.
func (a *abuseLog) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = true
	now := time.Now()
	for kind, t := range a.kinds {
		if t.due != nil {
			t.due.Stop()
			t.due = nil
		}
		a.writeLocked(kind, t, now)
	}
}
