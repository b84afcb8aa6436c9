package main

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/presenced/presenced/web/wire"
)

// The frames as the server writes them: web's encoders write what
// wire.Encode writes (web's codec tests hold them to it).
func presenceFrame(es ...wire.Entry) []byte {
	return wire.Encode(wire.Presence{Type: wire.TypePresence, Users: es})
}

func entry(id, status, text string) wire.Entry {
	custom, reason := "3f2a", "manual"
	return wire.Entry{ID: id, Status: status, Text: text, Custom: &custom,
		Since: wire.NewTime(time.Now()), LastSeen: wire.NewTime(time.Now()), Reason: &reason}
}

// TestLeanPresenceReadsWhatDecodeReads: for presence frames the lean read
// takes, it finds each entry's status and text as the full decode does; a
// text with escapes, and any other frame, are left to the full decode.
func TestLeanPresenceReadsWhatDecodeReads(t *testing.T) {
	frames := map[string][]byte{
		"one":   presenceFrame(entry("load-1", "busy", marker(time.Now()))),
		"three": presenceFrame(entry("load-1", "away", "lt 1"), wire.Entry{ID: `odd "status":"x"`, Status: "offline"}, entry("load-3", "online", "")),
	}
	for name, b := range frames {
		got, ok := leanPresence(b, nil)
		if !ok {
			t.Errorf("%s: the lean read refused %s", name, b)
			continue
		}
		f, err := wire.DecodeFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		var want []leanEntry
		for _, e := range f.Users {
			want = append(want, leanEntry{e.Status, e.Text})
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: lean read %v, the full decode %v", name, got, want)
		}
	}
	refused := map[string][]byte{
		"escaped text": presenceFrame(entry("load-1", "busy", `say "hi"`)),
		"result":       wire.Encode(wire.Result{Type: wire.TypeResult, ID: "r1", OK: true}),
		"service":      []byte(`{"type":"service","state":"enabled","reason":null,"connections":1,"limit":null}`),
		"other order":  []byte(`{"users":[{"status":"busy","text":"x"}],"type":"presence"}`),
	}
	for name, b := range refused {
		if got, ok := leanPresence(b, nil); ok {
			t.Errorf("%s: the lean read took %s as %v", name, b, got)
		}
	}
}

// TestLeanResultTakesOnlyEntryAnswers: the answer to a subscribe or query
// is read lean, by its id; errors and other results are not.
func TestLeanResultTakesOnlyEntryAnswers(t *testing.T) {
	users := []wire.Entry{entry("load-2", "online", "")}
	empty := []wire.Entry{}
	if id, ok := leanResult(wire.Encode(wire.Result{Type: wire.TypeResult, ID: "r7", OK: true, Users: &users})); !ok || id != "r7" {
		t.Errorf("subscribe answer: leanResult = %q, %v; want r7, true", id, ok)
	}
	if id, ok := leanResult(wire.Encode(wire.Result{Type: wire.TypeResult, ID: "r8", OK: true, Users: &empty})); !ok || id != "r8" {
		t.Errorf("empty answer: leanResult = %q, %v; want r8, true", id, ok)
	}
	self := wire.Self{Status: "busy", Text: "lt 1"}
	for name, b := range map[string][]byte{
		"set_status": wire.Encode(wire.Result{Type: wire.TypeResult, ID: "r9", OK: true, Self: &self}),
		"error":      wire.Encode(wire.ErrorFrame{Type: wire.TypeError, ID: "r10", Code: wire.CodeOverLimit, Message: "too many"}),
		"escaped id": wire.Encode(wire.Result{Type: wire.TypeResult, ID: `r"1`, OK: true, Users: &users}),
	} {
		if id, ok := leanResult(b); ok {
			t.Errorf("%s: leanResult took %s as %q", name, b, id)
		}
	}
}

// BenchmarkRead is what the load generator spends reading a presence frame
// of one entry and the answer to a subscribe of 100, lean and decoded
// whole.
func BenchmarkRead(b *testing.B) {
	one := presenceFrame(entry("load-1", "busy", marker(time.Now())))
	es := make([]wire.Entry, 100)
	for i := range es {
		es[i] = entry("load-"+strconv.Itoa(i), "online", "")
	}
	answer := wire.Encode(wire.Result{Type: wire.TypeResult, ID: "r2", OK: true, Users: &es})
	b.Run("presence/lean", func(b *testing.B) {
		var buf []leanEntry
		for range b.N {
			var ok bool
			if buf, ok = leanPresence(one, buf[:0]); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("presence/whole", func(b *testing.B) {
		for range b.N {
			if _, err := wire.DecodeFrame(one); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("answer100/lean", func(b *testing.B) {
		for range b.N {
			if _, ok := leanResult(answer); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("answer100/whole", func(b *testing.B) {
		for range b.N {
			if _, err := wire.DecodeFrame(answer); err != nil {
				b.Fatal(err)
			}
		}
	})
}
