package presence

import (
	"testing"
	"time"
)

func TestWhy(t *testing.T) {
	none, one, idle, both := Conns{}, Conns{Online: 1}, Conns{Away: 1}, Conns{Online: 1, Away: 1}
	tests := []struct {
		name          string
		cause         Reason
		before, after Conns
		want          Reason
	}{
		{"first tab", ReasonConnect, none, one, ReasonConnect},
		{"a tab while the others idle", ReasonConnect, idle, both, ReasonActive},
		{"last tab closed", ReasonDisconnect, one, none, ReasonDisconnect},
		{"active tab closed, an idle one left", ReasonDisconnect, both, idle, ReasonIdle},
		{"last tab dead", ReasonHeartbeat, idle, none, ReasonHeartbeat},
		{"active tab dead, an idle one left", ReasonHeartbeat, both, idle, ReasonIdle},
		{"node died with every tab", ReasonNodeLost, both, none, ReasonNodeLost},
		{"node died, an active tab elsewhere", ReasonNodeLost, Conns{Online: 1, Away: 2}, one, ReasonActive},
		{"idle", ReasonIdle, one, idle, ReasonIdle},
		{"active", ReasonActive, idle, one, ReasonActive},
		{"manual", ReasonManual, one, one, ReasonManual},
		{"expired while offline", ReasonExpired, none, none, ReasonExpired},
		{"catalog", ReasonCatalog, one, one, ReasonCatalog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Why(tt.cause, tt.before, tt.after); got != tt.want {
				t.Errorf("Why(%v, %+v, %+v) = %v, want %v", tt.cause, tt.before, tt.after, got, tt.want)
			}
		})
	}
}

func TestParseReason(t *testing.T) {
	for r := NoReason; r <= ReasonNodeLost; r++ {
		got, ok := ParseReason(r.String())
		if !ok || got != r {
			t.Errorf("ParseReason(%q) = %v, %v", r.String(), got, ok)
		}
	}
	for _, bad := range []string{"Connect", "node-lost", "invalid"} {
		if _, ok := ParseReason(bad); ok {
			t.Errorf("ParseReason(%q) accepted", bad)
		}
	}
	if Reason(99).String() != "invalid" {
		t.Errorf("Reason(99).String() = %q", Reason(99).String())
	}
}

func TestOfflineAt(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		grace time.Duration
		want  time.Time
	}{
		{5 * time.Second, t0.Add(5 * time.Second)},
		{0, t0},
		{-time.Second, t0},
	}
	for _, tt := range tests {
		if got := OfflineAt(t0, tt.grace); !got.Equal(tt.want) {
			t.Errorf("OfflineAt(t0, %v) = %v, want %v", tt.grace, got, tt.want)
		}
	}
}

func TestExpired(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 15, 30, 0, 0, time.UTC)
	tests := []struct {
		name  string
		until time.Time
		now   time.Time
		want  bool
	}{
		{"never", time.Time{}, t0, false},
		{"a second before", t0, t0.Add(-time.Second), false},
		{"at until", t0, t0, true},
		{"after", t0, t0.Add(time.Nanosecond), true},
	}
	for _, tt := range tests {
		if got := Expired(tt.until, tt.now); got != tt.want {
			t.Errorf("%s: Expired(%v, %v) = %v, want %v", tt.name, tt.until, tt.now, got, tt.want)
		}
	}
}
