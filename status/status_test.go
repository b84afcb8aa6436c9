package status

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/presenced/presenced/presence"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "In a meeting", want: "In a meeting"},
		{in: "  Lunch \t", want: "Lunch"},
		{in: strings.Repeat("é", 64), want: strings.Repeat("é", 64)},
		{in: strings.Repeat("é", 65), bad: true},
		{in: "   ", bad: true},
		{in: "", bad: true},
		{in: "tab\there", bad: true},
		{in: "bell\a", bad: true},
		{in: "bad \xff utf8", bad: true},
		{in: "<img src=x onerror=alert(1)>", want: "<img src=x onerror=alert(1)>"},
	}
	for _, tt := range tests {
		got, err := CleanName(tt.in)
		if tt.bad {
			if !errors.Is(err, ErrName) {
				t.Errorf("CleanName(%q) = %q, %v; want an ErrName", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CleanName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCatalogUniqueness(t *testing.T) {
	c := NewCatalog([]Custom{
		{ID: "1", Name: "Lunch", Presence: presence.Away},
		{ID: "2", Name: "LUNCH", Presence: presence.Busy}, // a duplicate a store could hold: dropped
	})
	if c.Len() != 1 {
		t.Fatalf("Len = %d, want 1", c.Len())
	}
	if !c.Taken("lunch", "") || !c.Taken("lUnCh", "3") {
		t.Error("a name in another case is not taken")
	}
	if c.Taken("Lunch", "1") {
		t.Error("a status's own name is taken for itself")
	}
	c.Put(Custom{ID: "1", Name: "Dinner", Presence: presence.Away})
	if c.Taken("lunch", "") {
		t.Error("a renamed status still holds its old name")
	}
	if !c.Taken("dinner", "") {
		t.Error("the new name is free")
	}
	if _, ok := c.Delete("1"); !ok || c.Taken("dinner", "") || c.Len() != 0 {
		t.Error("delete left the status behind")
	}
	if _, ok := c.Delete("1"); ok {
		t.Error("deleting twice succeeded")
	}
}

func TestCatalogSearch(t *testing.T) {
	c := NewCatalog(nil)
	for i, n := range []string{"On a call", "in a meeting", "Lunch", "Commuting", "Meeting room B"} {
		c.Put(Custom{ID: string(rune('a' + i)), Name: n})
	}
	names := func(cs []Custom) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Name)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		query         string
		offset, limit int
		want          string
		total         int
	}{
		{"", 0, 50, "Commuting,in a meeting,Lunch,Meeting room B,On a call", 5},
		{"MEET", 0, 50, "in a meeting,Meeting room B", 2},
		{"meet", 1, 50, "Meeting room B", 2},
		{"", 1, 2, "in a meeting,Lunch", 5},
		{"", 5, 2, "", 5},
		{"zzz", 0, 10, "", 0},
	}
	for _, tt := range tests {
		items, total := c.Search(tt.query, tt.offset, tt.limit)
		if got := names(items); got != tt.want || total != tt.total {
			t.Errorf("Search(%q, %d, %d) = %q, %d; want %q, %d", tt.query, tt.offset, tt.limit, got, total, tt.want, tt.total)
		}
		if items == nil {
			t.Errorf("Search(%q) returned nil, want an empty page", tt.query)
		}
	}
}

func TestFollow(t *testing.T) {
	c := NewCatalog([]Custom{{ID: "m", Name: "In a meeting", Presence: presence.Busy}})
	tests := []struct {
		name string
		in   Holding
		want Holding
	}{
		{"not custom", Holding{Manual: presence.Away, Text: "brb"}, Holding{Manual: presence.Away, Text: "brb"}},
		{"up to date", Holding{Manual: presence.Busy, Text: "In a meeting", Custom: "m"}, Holding{Manual: presence.Busy, Text: "In a meeting", Custom: "m"}},
		{"renamed and re-tied", Holding{Manual: presence.Away, Text: "Meeting", Custom: "m"}, Holding{Manual: presence.Busy, Text: "In a meeting", Custom: "m"}},
		{"deleted", Holding{Manual: presence.Away, Text: "Gone", Custom: "x"}, Holding{Manual: presence.Away}},
	}
	for _, tt := range tests {
		if got := c.Follow(tt.in); got != tt.want {
			t.Errorf("%s: Follow(%+v) = %+v, want %+v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestFollowKeepsUntil(t *testing.T) {
	c := NewCatalog([]Custom{{ID: "m", Name: "In a meeting", Presence: presence.Busy, Duration: time.Hour}})
	until := time.Date(2026, 1, 1, 15, 30, 0, 0, time.UTC)
	for _, in := range []Holding{
		{Manual: presence.Away, Text: "Meeting", Custom: "m", Until: until},
		{Manual: presence.Away, Text: "Gone", Custom: "x", Until: until},
		{Manual: presence.Busy, Text: "brb", Until: until},
	} {
		if got := c.Follow(in); !got.Until.Equal(until) {
			t.Errorf("Follow(%+v).Until = %v, want %v: a choice ends when it was going to", in, got.Until, until)
		}
	}
}

func TestCheckDuration(t *testing.T) {
	tests := []struct {
		d  time.Duration
		ok bool
	}{
		{59 * time.Second, false},
		{time.Minute, true},
		{30 * time.Minute, true},
		{31622400 * time.Second, true},
		{31622401 * time.Second, false},
		{0, false},
		{-time.Hour, false},
	}
	for _, tt := range tests {
		err := CheckDuration(tt.d)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrLifetime)) {
			t.Errorf("CheckDuration(%v) = %v, want ok %v", tt.d, err, tt.ok)
		}
	}
}

func TestLifetimeEnd(t *testing.T) {
	now := time.Date(2026, 1, 1, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		l    Lifetime
		def  time.Duration
		want time.Time
		bad  bool
	}{
		{name: "never", want: time.Time{}},
		{name: "the custom status's default", def: time.Hour, want: now.Add(time.Hour)},
		{name: "a duration beats the default", l: Lifetime{Duration: 30 * time.Minute}, def: time.Hour, want: now.Add(30 * time.Minute)},
		{name: "an until beats the default", l: Lifetime{Until: now.Add(4 * time.Hour)}, def: time.Hour, want: now.Add(4 * time.Hour)},
		{name: "until 366 days ahead", l: Lifetime{Until: now.Add(MaxDuration)}, want: now.Add(MaxDuration)},
		{name: "until a second ahead", l: Lifetime{Until: now.Add(time.Second)}, want: now.Add(time.Second)},
		{name: "both", l: Lifetime{Until: now.Add(time.Hour), Duration: time.Hour}, bad: true},
		{name: "until now", l: Lifetime{Until: now}, bad: true},
		{name: "until past", l: Lifetime{Until: now.Add(-time.Hour)}, bad: true},
		{name: "until too far", l: Lifetime{Until: now.Add(MaxDuration + time.Second)}, bad: true},
		{name: "duration too short", l: Lifetime{Duration: 59 * time.Second}, bad: true},
		{name: "duration too long", l: Lifetime{Duration: MaxDuration + time.Second}, bad: true},
	}
	for _, tt := range tests {
		got, err := tt.l.End(now, tt.def)
		if tt.bad {
			if !errors.Is(err, ErrLifetime) {
				t.Errorf("%s: End = %v, %v; want an ErrLifetime", tt.name, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("%s: End = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}
