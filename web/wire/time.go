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

// appendTime appends t as MarshalJSON does, or null for nil. It writes
// the digits itself: AppendFormat parses its layout on every call, and a
// subscribe's answer of 100 users has 200 timestamps.
func appendTime(dst []byte, t *Time) []byte {
	if t == nil {
		return append(dst, "null"...)
	}
	u := t.UTC()
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		dst = append(dst, '"')
		dst = u.AppendFormat(dst, TimeLayout)
		return append(dst, '"')
	}
	hour, minute, sec := u.Clock()
	ms := u.Nanosecond() / 1e6 // truncated, as the layout's .000 does
	return append(dst, '"',
		digit(year/1000), digit(year/100), digit(year/10), digit(year), '-',
		digit(int(month)/10), digit(int(month)), '-', digit(day/10), digit(day), 'T',
		digit(hour/10), digit(hour), ':', digit(minute/10), digit(minute), ':', digit(sec/10), digit(sec), '.',
		digit(ms/100), digit(ms/10), digit(ms), 'Z', '"')
}

// digit is the last decimal digit of n ≥ 0.
func digit(n int) byte { return byte('0' + n%10) }
