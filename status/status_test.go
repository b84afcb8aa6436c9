package status

import (
	"errors"
	"strings"
	"testing"

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
