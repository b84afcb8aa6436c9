package wire

import (
	"fmt"
	"testing"
	"time"
)

func benchEntries(n int) []Entry {
	since := Time{time.Date(2026, 3, 1, 9, 30, 0, 123e6, time.UTC)}
	seen := Time{since.Add(time.Hour)}
	custom := "6f1c2a8e-5d1b-4c36-9f0e-2b7d5a9c1e42"
	es := make([]Entry, n)
	for i := range es {
		es[i] = Entry{ID: fmt.Sprintf("user-%d", i), Status: "busy", Text: "In a meeting", Custom: &custom, Since: &since, LastSeen: &seen}
		if i%2 == 1 {
			es[i] = Entry{ID: fmt.Sprintf("user-%d", i), Status: "online", Since: &since, LastSeen: &seen}
		}
	}
	return es
}

// BenchmarkEncodePresence encodes one presence frame of n users: the
// frame each subscriber gets per flush.
func BenchmarkEncodePresence(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			p := Presence{Type: TypePresence, Users: benchEntries(n)}
			b.ReportAllocs()
			for b.Loop() {
				Encode(p)
			}
		})
	}
}

// BenchmarkDecode decodes the commands a client sends most.
func BenchmarkDecode(b *testing.B) {
	frames := map[string][]byte{
		"ping":       []byte(`{"type":"ping","id":"17"}`),
		"set_status": []byte(`{"type":"set_status","id":"18","status":"busy","text":"lt 1767225600000000000"}`),
		"subscribe":  []byte(`{"type":"subscribe","id":"2","users":["load-1","load-2","load-3","load-4","load-5","load-6","load-7","load-8","load-9","load-10"]}`),
	}
	for _, name := range []string{"ping", "set_status", "subscribe"} {
		frame := frames[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
