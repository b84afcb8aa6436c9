package web

import (
	"bytes"
	"testing"
	"time"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/web/wire"
)

// TestHandEncoders checks the hand-written presence and snapshot encoders
// against the generic path through wire.Encode.
func TestHandEncoders(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.FixedZone("x", 3600))
	cases := []hub.Entries{
		{},
		{{User: "never-seen"}},
		{{User: "a", Status: presence.Busy, Text: "In <a> \"meeting\"", Custom: "c-1", Since: at, LastSeen: at.Add(time.Hour)}},
		{{User: "d", Disabled: true, Text: "hidden", Since: at}, {User: "é\u2028", Status: presence.Away, Since: at}},
	}
	for _, es := range cases {
		want := wire.Encode(wire.Presence{Type: wire.TypePresence, Users: entries(es)})
		if got := encodePresence(es); !bytes.Equal(got, want) {
			t.Errorf("encodePresence\n got %s\nwant %s", got, want)
		}
		for _, id := range []string{"", "17", "<&>"} {
			want := wire.Encode(result(id, es))
			if got := encodeMessage(&hub.Reply{RequestID: id, Result: es}, identity{}, "", 0); !bytes.Equal(got, want) {
				t.Errorf("snapshot result\n got %s\nwant %s", got, want)
			}
		}
	}
}
