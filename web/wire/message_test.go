package wire

import (
	"strings"
	"testing"
	"time"
)

// TestWave2FieldsAlwaysPresent checks that until, reason and duration_s are
// written as null when empty, never left out: clients rely on it.
func TestWave2FieldsAlwaysPresent(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want []string
	}{
		{Entry{ID: "a", Status: "offline"}, []string{`"until":null`, `"reason":null`}},
		{Self{Status: "online", Manual: "online"}, []string{`"until":null`, `"reason":null`}},
		{CustomStatus{ID: "c", Name: "Lunch", Presence: "away"}, []string{`"duration_s":null`}},
	} {
		got := string(Encode(tt.v))
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("Encode(%T) = %s, want %s in it", tt.v, got, w)
			}
		}
	}
}

func TestHistoryResultRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	items := []HistoryItem{{At: Time{at}, Status: "away", Previous: "online", Text: "", Reason: "idle"}}
	b := Encode(Result{Type: TypeResult, ID: "h", OK: true, Items: &items})
	if want := `{"type":"result","id":"h","ok":true,"items":[{"at":"2026-03-01T09:30:00.000Z","status":"away","previous":"online","text":"","reason":"idle"}]}`; string(b) != want {
		t.Errorf("history result = %s\nwant %s", b, want)
	}
	f, err := DecodeFrame(b)
	if err != nil || len(f.History) != 1 || f.History[0] != items[0] {
		t.Errorf("DecodeFrame(history result).History = %+v, %v; want %+v", f.History, err, items)
	}
}
