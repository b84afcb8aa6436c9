package webhook

import "time"

// Clock is the sender's source of time.
type Clock interface {
	Now() time.Time
	// NewTimer returns a stopped timer: Reset arms it.
	NewTimer() Timer
}

// Timer is a time.Timer behind an interface, so tests can fake it. It
// fires once per Reset.
type Timer interface {
	C() <-chan time.Time
	// Reset aims the timer at d from now, dropping any pending tick.
	Reset(d time.Duration)
	// Stop disarms the timer, dropping any pending tick.
	Stop()
}

// realClock is package time.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer() Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return realTimer{t}
}

// realTimer relies on Go 1.23 timers: Reset and Stop drop a pending tick.
type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time   { return t.t.C }
func (t realTimer) Reset(d time.Duration) { t.t.Reset(d) }
func (t realTimer) Stop()                 { t.t.Stop() }
