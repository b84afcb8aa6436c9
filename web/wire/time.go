package wire

import (
	"fmt"
	"time"
)

// TimeLayout is how every timestamp of the protocol is written: RFC 3339
// in UTC with exactly three fractional digits ("2026-03-01T09:30:00.120Z"),
// so that clients may parse it with a fixed layout, and times sort as text.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is a protocol timestamp. It reads any RFC 3339 time and writes
// TimeLayout, truncated to the millisecond.
type Time struct{ time.Time }

// NewTime returns t as a protocol timestamp, or nil for the zero time.
func NewTime(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	return &Time{t}
}

// MarshalJSON writes t as TimeLayout, quoted.
func (t Time) MarshalJSON() ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("wire: time %v: year outside [0,9999]", t.Time)
	}
	return appendTime(nil, &t), nil
}

// UnmarshalJSON reads an RFC 3339 time, as time.Time does.
func (t *Time) UnmarshalJSON(b []byte) error { return t.Time.UnmarshalJSON(b) }

// appendTime appends t as MarshalJSON does, or null for nil.
func appendTime(dst []byte, t *Time) []byte {
	if t == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, TimeLayout)
	return append(dst, '"')
}
