package api

import (
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"
)

func TestLimitersStayBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiters(func(string) (rate.Limit, int) { return 1, 1 })
		if _, ok := l.take("a"); !ok {
			t.Fatal("a first request was refused")
		}
		wait, ok := l.take("a")
		if ok || wait != time.Second {
			t.Fatalf("a second request at once: ok %v, wait %v; want refused, 1 s", ok, wait)
		}
		for i := range maxIdleLimiters {
			l.take("k" + strconv.Itoa(i))
		}
		time.Sleep(time.Second) // every bucket is full again
		l.take("new")
		if n := len(l.byKey); n != 1 {
			t.Errorf("%d limiters kept after a sweep, want 1 (the new one)", n)
		}
	})
}
