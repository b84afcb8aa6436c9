package hub

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
)

// limitHub is a hub with a connection limit and one admin connected, with
// helpers to open and close connections.
type limitHub struct {
	t      *testing.T
	h      *Hub
	admin  *sink
	nextID ConnID
	open   []ConnID
}

func newLimitHub(t *testing.T, limit int) (*limitHub, func()) {
	h := New(Config{Store: newMemStore(), Limit: limit})
	stop := run(t, h)
	l := &limitHub{t: t, h: h, admin: &sink{}, nextID: 1}
	l.h.Connect(ConnInfo{ID: 1, User: "root", Admin: true}, l.admin)
	return l, stop
}

// connect opens connections until the workspace has n, and returns the
// last one's sink.
func (l *limitHub) connect(n int) *sink {
	var s *sink
	for len(l.open)+1 < n {
		l.nextID++
		s = &sink{}
		l.h.Connect(ConnInfo{ID: l.nextID, User: fmt.Sprintf("u%d", l.nextID), RequestID: "hello"}, s)
		l.open = append(l.open, l.nextID)
	}
	synctest.Wait()
	return s
}

// disconnect closes connections until the workspace has n.
func (l *limitHub) disconnect(n int) {
	for len(l.open)+1 > n {
		l.h.Disconnect(l.open[len(l.open)-1])
		l.open = l.open[:len(l.open)-1]
	}
	synctest.Wait()
}

func (l *limitHub) wantNotices(when string, want ...string) {
	l.t.Helper()
	if got := l.admin.notices(); !slices.Equal(got, want) {
		l.t.Errorf("%s: admin notices %q, want %q", when, got, want)
	}
}

// enable asks for the service on and returns the error code, or "".
func (l *limitHub) enable(id string) string {
	l.h.Do(1, id, AdminService{Enabled: true})
	synctest.Wait()
	r, ok := l.admin.reply(id)
	if !ok {
		l.t.Fatalf("no reply to %s", id)
	}
	if r.Err != nil {
		return r.Err.Code
	}
	return ""
}

// Admins are warned once at 80 % and once at 95 % of the limit.
func TestLimitWarnings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, stop := newLimitHub(t, 20)
		defer stop()
		l.connect(15)
		l.wantNotices("at 15 of 20")
		l.connect(16)
		l.wantNotices("at 16 of 20", "limit_80")
		l.connect(18)
		l.wantNotices("at 18 of 20", "limit_80")
		l.connect(19)
		l.wantNotices("at 19 of 20", "limit_80", "limit_95")
		l.connect(20)
		l.wantNotices("at 20 of 20", "limit_80", "limit_95")

		// A warning is told again only after the count fell 5 % of the
		// limit (1) below its threshold.
		l.disconnect(18)
		l.connect(19)
		l.wantNotices("back at 19 from 18", "limit_80", "limit_95")
		l.disconnect(17)
		l.connect(19)
		l.wantNotices("back at 19 from 17", "limit_80", "limit_95", "limit_95")
	})
}

// With a small limit one connection crosses both thresholds: only the
// higher one is told, and the lower one is not told after it.
func TestLimitWarningsBothAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, stop := newLimitHub(t, 2) // 80 % and 95 % of 2 are both 2
		defer stop()
		l.connect(2)
		l.wantNotices("at 2 of 2", "limit_95")
		l.connect(3)
		l.wantNotices("at 3 of 2", "limit_95", ReasonConnectionLimit)
	})
}

// The connection past the limit turns the service off: it learns so from
// its welcome, everyone else from a service event, admins from a critical
// notice.
func TestLimitTrips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, stop := newLimitHub(t, 20)
		defer stop()
		first := l.connect(2)
		l.connect(20)
		if _, ok := first.service(); ok {
			t.Fatal("service event at 20 of 20, want none until the limit is passed")
		}
		over := l.connect(21)
		w := over.welcome()
		if w == nil || w.Service.Enabled || w.Service.Reason != ReasonConnectionLimit || w.Service.Connections != 21 {
			t.Fatalf("tripping welcome = %+v, want disabled for connection_limit at 21", w)
		}
		if _, ok := over.service(); ok {
			t.Error("the tripping connection got a service event besides its welcome")
		}
		if s, ok := first.service(); !ok || s.Enabled || s.Reason != ReasonConnectionLimit || s.Connections != 21 {
			t.Errorf("others' service event = %+v, %v; want disabled for connection_limit at 21", s, ok)
		}
		l.wantNotices("after the trip", "limit_80", "limit_95", ReasonConnectionLimit)
	})
}

// A tripped service can be turned on only below the limit; admins are told
// once when that is possible again.
func TestReenableBelowLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, stop := newLimitHub(t, 20)
		defer stop()
		first := l.connect(2)
		l.connect(21)
		if code := l.enable("e1"); code != CodeOverLimit {
			t.Errorf("enable at 21 of 20: %q, want over_limit", code)
		}
		l.disconnect(20)
		if code := l.enable("e2"); code != CodeOverLimit {
			t.Errorf("enable at 20 of 20: %q, want over_limit", code)
		}
		l.wantNotices("at 20", "limit_80", "limit_95", ReasonConnectionLimit)
		l.disconnect(19)
		l.wantNotices("at 19", "limit_80", "limit_95", ReasonConnectionLimit, "ready_to_enable")
		l.disconnect(18)
		l.wantNotices("at 18", "limit_80", "limit_95", ReasonConnectionLimit, "ready_to_enable")
		if code := l.enable("e3"); code != "" {
			t.Fatalf("enable at 18 of 20: %q, want success", code)
		}
		if s, ok := first.service(); !ok || !s.Enabled {
			t.Errorf("service event after enabling = %+v, %v; want enabled", s, ok)
		}
	})
}
