package store

import (
	"fmt"
	"time"

	"github.com/presenced/presenced/presence"
)

// How both backends write times, durations and presences as text: times
// in UTC with nanoseconds, durations as Go duration strings, and zero as ""
// so that "never" and "not set" read as such; presences by name.

// FormatTime writes t in UTC, RFC 3339 with nanoseconds; the zero time is "".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ParseTime reads what FormatTime wrote.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// ParseDuration reads a Go duration string; "" (a field never written) is
// zero.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// ParsePresence reads a presence written by name ("online", "busy", ...).
func ParsePresence(name string) (presence.Status, error) {
	p, ok := presence.ParseStatus(name)
	if !ok {
		return 0, fmt.Errorf("unknown presence %q", name)
	}
	return p, nil
}
