package presence

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// numbers are the texts of changes, shared as the hub shares users' texts.
var numbers = func() []string {
	s := make([]string, 3*HistoryLen)
	for i := range s {
		s[i] = fmt.Sprint(i)
	}
	return s
}()

// changes adds n transitions of user, a minute apart from start, alternating
// online and away, the i-th with text "i" (n at most 3 × HistoryLen).
func changes(h *Histories, user string, start time.Time, n int) {
	for i := range n {
		st, prev := Online, Away
		if i%2 == 1 {
			st, prev = Away, Online
		}
		h.Add(user, Transition{At: start.Add(time.Duration(i) * time.Minute), Status: st, Previous: prev,
			Reason: ReasonIdle, Text: numbers[i]})
	}
}

func texts(ts []Transition) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ","
		}
		s += t.Text
	}
	return s
}

func TestHistoryRecent(t *testing.T) {
	tests := []struct {
		name  string
		added int
		limit int
		now   time.Time
		want  string
	}{
		{"none", 0, 20, t0, ""},
		{"fewer than the limit", 3, 20, t0.Add(time.Hour), "2,1,0"},
		{"limited", 5, 2, t0.Add(time.Hour), "4,3"},
		{"wrapped: the last 50", 53, 3, t0.Add(2 * time.Hour), "52,51,50"},
		{"wrapped, all of it", 120, 100, t0.Add(3 * time.Hour), "119,118,117,116,115,114,113,112,111,110,109,108,107,106,105,104,103,102,101,100,99,98,97,96,95,94,93,92,91,90,89,88,87,86,85,84,83,82,81,80,79,78,77,76,75,74,73,72,71,70"},
		{"older than a day not shown", 3, 20, t0.Add(HistoryAge + 90*time.Second), "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistories(10)
			changes(h, "alice", t0, tt.added)
			got := h.Recent("alice", tt.limit, tt.now)
			if texts(got) != tt.want {
				t.Errorf("Recent = %q, want %q", texts(got), tt.want)
			}
			if got == nil {
				t.Error("Recent returned nil, want an empty list")
			}
		})
	}
}

func TestHistoryItem(t *testing.T) {
	h := NewHistories(1)
	at := t0.Add(1234567 * time.Nanosecond)
	want := Transition{At: at, Status: Busy, Previous: Online, Reason: ReasonManual, Text: "In a meeting"}
	h.Add("alice", want)
	got := h.Recent("alice", 1, at)
	if len(got) != 1 || got[0] != want {
		t.Errorf("Recent = %+v, want [%+v]", got, want)
	}
}

func TestHistoryBounds(t *testing.T) {
	t.Run("least recently changed user dropped past the bound", func(t *testing.T) {
		h := NewHistories(2)
		changes(h, "alice", t0, 1)
		changes(h, "bob", t0.Add(time.Minute), 1)
		changes(h, "alice", t0.Add(2*time.Minute), 1) // alice is newest again
		changes(h, "carol", t0.Add(3*time.Minute), 1)
		if h.Len() != 2 || len(h.Recent("bob", 10, t0)) != 0 {
			t.Errorf("Len = %d, bob has %d items; want 2 users and bob dropped", h.Len(), len(h.Recent("bob", 10, t0)))
		}
		if len(h.Recent("alice", 10, t0)) != 2 || len(h.Recent("carol", 10, t0)) != 1 {
			t.Error("alice or carol lost items")
		}
	})
	t.Run("users idle for a day dropped", func(t *testing.T) {
		h := NewHistories(100)
		changes(h, "alice", t0, 3)
		changes(h, "bob", t0.Add(HistoryAge+time.Hour), 1)
		if h.Len() != 1 {
			t.Errorf("Len = %d, want 1: alice's day-old history stays", h.Len())
		}
	})
	t.Run("a ring never grows past HistoryLen", func(t *testing.T) {
		h := NewHistories(1)
		changes(h, "alice", t0, 3*HistoryLen)
		if r := h.byUser["alice"]; len(r.items) != HistoryLen || cap(r.items) != HistoryLen {
			t.Errorf("ring len %d cap %d, want %d", len(r.items), cap(r.items), HistoryLen)
		}
	})
}

// TestHistoryMemory measures what a full history costs: 20,000 users with
// HistoryLen transitions each, the worst case of a busy day.
func TestHistoryMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~40 MB; not in -short")
	}
	const users = 20000
	ids := make([]string, users)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%05d", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h := NewHistories(users)
	for _, id := range ids {
		changes(h, id, t0, HistoryLen)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perUser := float64(after.HeapAlloc-before.HeapAlloc) / users
	t.Logf("history of %d users × %d transitions: %.0f bytes per user", users, HistoryLen, perUser)
	// 50 records of 32 bytes (in a 1,792-byte size class), the ring and its
	// map entry: about 1.9 KB.
	if perUser > 2048 {
		t.Errorf("%.0f bytes per user, want at most 2048", perUser)
	}
	runtime.KeepAlive(h)
}

func BenchmarkHistoryAdd(b *testing.B) {
	h := NewHistories(20000)
	ids := make([]string, 20000)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%05d", i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Add(ids[i%len(ids)], Transition{At: t0.Add(time.Duration(i) * time.Millisecond), Status: Away, Previous: Online, Reason: ReasonIdle})
	}
}
