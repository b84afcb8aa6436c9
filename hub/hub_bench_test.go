package hub

import (
	"context"
	"fmt"
	"testing"

	"github.com/presenced/presenced/presence"
)

// nopSink takes what the hub hands a connection and counts it. The hub
// calls it from its goroutine only.
type nopSink struct{ presence, messages int }

func (s *nopSink) Presence(Entry)    { s.presence++ }
func (s *nopSink) Send(Message)      { s.messages++ }
func (s *nopSink) Close(CloseReason) {}

const (
	benchUsers   = 10_000
	benchSubsPer = 10 // 100,000 subscriptions in all
)

// benchHub starts a hub with benchUsers users, each with one connection
// subscribed to the benchSubsPer users after it.
func benchHub(b *testing.B) *Hub {
	b.Helper()
	h := New(Config{Store: newMemStore(), Edition: Enterprise, Inbox: 1 << 16})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Run: %v", err)
		}
	})
	<-h.Ready()
	users := make([]string, benchUsers)
	for i := range users {
		users[i] = fmt.Sprintf("user-%d", i)
	}
	for i, u := range users {
		id := ConnID(i + 1)
		h.Connect(ConnInfo{ID: id, User: u}, &nopSink{})
		subs := make([]string, benchSubsPer)
		for k := range subs {
			subs[k] = users[(i+1+k)%benchUsers]
		}
		h.Do(id, "", Subscribe{Users: subs})
	}
	settle(b, h)
	return h
}

// settle waits until the hub has applied every command posted before.
func settle(b *testing.B, h *Hub) {
	if _, ok := h.Tally(context.Background()); !ok {
		b.Fatal("hub stopped")
	}
}

// BenchmarkHubCommands is the hub's throughput, commands posted from one
// goroutine and applied by the hub's, with 10k users and 100k
// subscriptions. set_status changes a user seen by 10 subscribers each
// time; activity changes nothing others see; query reads 10 users.
func BenchmarkHubCommands(b *testing.B) {
	h := benchHub(b)
	manual := []presence.Status{presence.Busy, presence.Away}
	cases := []struct {
		name string
		cmd  func(i int) Command
	}{
		{"activity", func(int) Command { return Activity{} }},
		{"set_status", func(i int) Command { return SetStatus{Manual: manual[(i/benchUsers)%2]} }},
		{"query", func(i int) Command {
			return Query{Users: []string{"user-1", "user-2", "user-3", "user-4", "user-5", "user-6", "user-7", "user-8", "user-9", "user-10"}}
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				h.Do(ConnID(i%benchUsers+1), "", tc.cmd(i))
			}
			settle(b, h) // timed: the hub has applied them all
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
		})
	}
}

// BenchmarkHubConnect is a connect, a subscribe to 10 or 100 users and a
// disconnect.
func BenchmarkHubConnect(b *testing.B) {
	h := benchHub(b)
	next := ConnID(benchUsers)
	for _, n := range []int{10, 100} {
		subs := make([]string, n)
		for i := range subs {
			subs[i] = fmt.Sprintf("user-%d", (i*97)%benchUsers) // not in order
		}
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				next++
				h.Connect(ConnInfo{ID: next, User: "visitor"}, &nopSink{})
				h.Do(next, "", Subscribe{Users: subs})
				h.Disconnect(next)
			}
			settle(b, h)
		})
	}
}
