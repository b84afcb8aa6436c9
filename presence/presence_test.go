package presence

import (
	"testing"
	"time"
)

func TestEffective(t *testing.T) {
	tests := []struct {
		name   string
		manual Status
		conns  Conns
		want   Status
	}{
		{"no connection, automatic", Online, Conns{}, Offline},
		{"no connection, busy", Busy, Conns{}, Offline},
		{"no connection, away", Away, Conns{}, Offline},
		{"no connection, invisible", Offline, Conns{}, Offline},
		{"one active tab", Online, Conns{Online: 1}, Online},
		{"one idle tab", Online, Conns{Away: 1}, Away},
		{"one active, one idle", Online, Conns{Online: 1, Away: 1}, Online},
		{"two idle devices", Online, Conns{Away: 2}, Away},
		{"manual away while active", Away, Conns{Online: 1}, Away},
		{"busy while active", Busy, Conns{Online: 1}, Busy},
		{"busy while idle", Busy, Conns{Away: 1}, Busy},
		{"invisible while active", Offline, Conns{Online: 2}, Offline},
		{"invisible while idle", Offline, Conns{Away: 1}, Offline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Effective(tt.manual, tt.conns); got != tt.want {
				t.Errorf("Effective(%v, %+v) = %v, want %v", tt.manual, tt.conns, got, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	for _, s := range []Status{Offline, Online, Away, Busy} {
		got, ok := ParseStatus(s.String())
		if !ok || got != s {
			t.Errorf("ParseStatus(%q) = %v, %v", s.String(), got, ok)
		}
	}
	for _, bad := range []string{"", "disabled", "Online", "invalid"} {
		if _, ok := ParseStatus(bad); ok {
			t.Errorf("ParseStatus(%q) accepted", bad)
		}
	}
	if Status(9).String() != "invalid" {
		t.Errorf("Status(9).String() = %q", Status(9).String())
	}
}

func TestDeadlines(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got, want := DeadAt(t0, 10*time.Second), t0.Add(25*time.Second); !got.Equal(want) {
		t.Errorf("DeadAt = %v, want %v", got, want)
	}
	if got, want := IdleAt(t0, 5*time.Minute), t0.Add(5*time.Minute); !got.Equal(want) {
		t.Errorf("IdleAt = %v, want %v", got, want)
	}
	if got := IdleAt(t0, 0); !got.IsZero() {
		t.Errorf("IdleAt with no limit = %v, want zero", got)
	}
}
