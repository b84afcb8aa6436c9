package hub

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/presenced/presenced/internal/testenv"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/boltstore"
	"github.com/presenced/presenced/store/redisstore"
)

// replySink hands each reply to whoever waits for it.
type replySink struct{ replies chan *Reply }

func (s replySink) Presence(Entry)    {}
func (s replySink) Send(m Message)    { replyTo(s.replies, m) }
func (s replySink) Close(CloseReason) {}

func replyTo(ch chan *Reply, m Message) {
	if r, ok := m.(*Reply); ok {
		ch <- r
	}
}

// BenchmarkSetStatusAcked is set_status as clients see it: 1 or 64
// connections, each sending its next set_status when the ok of the last
// one is back, on a real store. It reports the commands acknowledged per
// second and the reply latency (from Do to the reply reaching the sink).
// One connection shows the cost of one write; 64, what group commit makes
// of it. With PRESENCE_TEST_REDIS set it runs on Redis too.
func BenchmarkSetStatusAcked(b *testing.B) {
	stores := map[string]func(b *testing.B) store.Store{
		"bolt": func(b *testing.B) store.Store {
			st, err := boltstore.Open(b.TempDir(), boltstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
	}
	if url := os.Getenv(testenv.RedisVar); url != "" {
		stores["redis"] = func(b *testing.B) store.Store {
			st, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: "bench-" + uuid.NewString() + ":"})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}
	}
	for _, name := range []string{"bolt", "redis"} {
		open, ok := stores[name]
		if !ok {
			continue
		}
		for _, conns := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/conns=%d", name, conns), func(b *testing.B) { benchSetStatusAcked(b, open(b), conns) })
		}
	}
}

func benchSetStatusAcked(b *testing.B, st store.Store, conns int) {
	defer st.Close()
	h := New(Config{Store: st, Edition: Enterprise})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-h.Ready()
	sinks := make([]replySink, conns)
	for i := range sinks {
		sinks[i] = replySink{replies: make(chan *Reply, 1)}
		h.Connect(ConnInfo{ID: ConnID(i + 1), User: fmt.Sprintf("user-%d", i)}, sinks[i])
	}
	var next atomic.Int64
	lat := make([][]time.Duration, conns)
	b.ReportAllocs()
	b.ResetTimer()
	began := time.Now()
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			manual := []presence.Status{presence.Busy, presence.Away}
			for k := next.Add(1); k <= int64(b.N); k = next.Add(1) {
				t0 := time.Now()
				h.Do(ConnID(i+1), "", SetStatus{Manual: manual[k%2], Text: "bench"})
				if r := <-sinks[i].replies; r.Err != nil {
					b.Errorf("set_status: %v", r.Err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "acked/s")
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}
