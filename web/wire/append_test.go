package wire

import (
	"bytes"
	"testing"
	"time"
)

// TestAppendEntry checks the hand-written encoder against encoding/json.
func TestAppendEntry(t *testing.T) {
	id := "6f1c2a8e-5d1b-4c36-9f0e-2b7d5a9c1e42"
	odd := "<b>&\"\\\n\t\u2028é\xff"
	ms := Time{time.Date(2026, 3, 1, 9, 30, 0, 123e6, time.UTC)}
	whole := Time{time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)}
	local := Time{time.Date(2026, 3, 1, 9, 30, 0, 5, time.FixedZone("x", 3600))}
	reason := "expired"
	for _, e := range []Entry{
		{ID: "alice", Status: "online"},
		{ID: "bob", Status: "busy", Text: "In a meeting", Custom: &id, Since: &ms, LastSeen: &whole},
		{ID: odd, Status: "away", Text: odd, Custom: &odd, Since: &local},
		{ID: "c", Status: "disabled"},
		{ID: "dan", Status: "busy", Since: &ms, Until: &whole, Reason: &reason},
		{ID: "eve", Status: "away", Reason: &odd},
	} {
		if got, want := AppendEntry(nil, &e), Encode(e); !bytes.Equal(got, want) {
			t.Errorf("AppendEntry\n got %s\nwant %s", got, want)
		}
	}
}

// FuzzAppendEntry checks that any entry encodes as encoding/json does.
func FuzzAppendEntry(f *testing.F) {
	f.Add("alice", "online", "", "", "", int64(0))
	f.Add("b<o>b", "busy", "In a \"meeting\"", "x&y", "manual", int64(1767225600123456789))
	f.Add("\xff\u2028", "away", "\x00\x1f", "é", "\"", int64(-62135596800))
	f.Fuzz(func(t *testing.T, id, status, text, custom, reason string, unixNano int64) {
		ts := Time{time.Unix(0, unixNano)}
		e := Entry{ID: id, Status: status, Text: text, Since: &ts}
		if custom != "" {
			e.Custom = &custom
		}
		if reason != "" {
			e.Reason, e.Until = &reason, &ts
		}
		want := Encode(e)
		if got := AppendEntry(nil, &e); !bytes.Equal(got, want) {
			t.Errorf("AppendEntry\n got %s\nwant %s", got, want)
		}
	})
}

// TestTimesHaveThreeFractionalDigits: every timestamp is RFC 3339 in UTC
// with exactly three fractional digits, as docs/protocol.md says, however
// many the time has, and reads back.
func TestTimesHaveThreeFractionalDigits(t *testing.T) {
	for _, tt := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 3, 1, 9, 30, 24, 810e6, time.UTC), `"2026-03-01T09:30:24.810Z"`},
		{time.Date(2026, 3, 1, 9, 30, 24, 0, time.UTC), `"2026-03-01T09:30:24.000Z"`},
		{time.Date(2026, 3, 1, 10, 30, 24, 123456789, time.FixedZone("x", 3600)), `"2026-03-01T09:30:24.123Z"`},
	} {
		ts := Time{tt.in}
		e := Entry{ID: "a", Status: "online", Since: &ts, LastSeen: &ts}
		for _, b := range [][]byte{AppendEntry(nil, &e), Encode(e), Encode(Stats{ServiceSince: &ts})} {
			if !bytes.Contains(b, []byte(tt.want)) {
				t.Errorf("%v encodes as %s, want %s", tt.in, b, tt.want)
			}
		}
		var back Time
		if err := back.UnmarshalJSON([]byte(tt.want)); err != nil || !back.Equal(tt.in.Truncate(time.Millisecond)) {
			t.Errorf("%s reads back as %v, %v", tt.want, back, err)
		}
	}
}

// FuzzAppendTime checks the hand-written timestamp against AppendFormat
// with TimeLayout, for any instant and zone (years past 9999 or before 0
// included, which take AppendFormat's way).
func FuzzAppendTime(f *testing.F) {
	f.Add(int64(1767225600123456789), 0)
	f.Add(int64(0), 3600)
	f.Add(int64(-62135596800000000), -1800)   // year 1
	f.Add(int64(253402300799999999), 0)       // 9999-12-31T23:59:59.999
	f.Add(int64(-9223372036854775808), 50400) // 1677
	f.Fuzz(func(t *testing.T, unixNano int64, offset int) {
		for _, ts := range []time.Time{
			time.Unix(0, unixNano).In(time.FixedZone("z", offset%86400)),
			time.Unix(unixNano/1e6, unixNano%1e9), // far years
		} {
			want := `"` + ts.UTC().Format(TimeLayout) + `"`
			if got := appendTime(nil, &Time{ts}); string(got) != want {
				t.Errorf("appendTime(%v) = %s, want %s", ts, got, want)
			}
		}
	})
}
