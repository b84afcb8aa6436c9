package api

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxIdleLimiters is how many rate limiters may be kept before full ones
// (those of callers quiet long enough to have their whole burst back,
// which is what a new limiter has) are dropped.
const maxIdleLimiters = 10_000

// limiters rate-limits callers, one token bucket per key.
type limiters struct {
	mu    sync.Mutex
	byKey map[string]*rate.Limiter
	rates func(key string) (rate.Limit, int)
}

func newLimiters(rates func(key string) (rate.Limit, int)) *limiters {
	return &limiters{byKey: map[string]*rate.Limiter{}, rates: rates}
}

// take spends one request of key's bucket. When the bucket is empty it
// reports false and how long until a request would be allowed.
func (l *limiters) take(key string) (time.Duration, bool) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.byKey[key]
	if lim == nil {
		if len(l.byKey) >= maxIdleLimiters {
			l.sweep(now)
		}
		lim = rate.NewLimiter(l.rates(key))
		l.byKey[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// sweep drops the limiters that are full: forgetting them changes nothing.
func (l *limiters) sweep(now time.Time) {
	for k, lim := range l.byKey {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(l.byKey, k)
		}
	}
}

// retryAfter is a Retry-After value for a wait: whole seconds, at least 1.
func retryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}
