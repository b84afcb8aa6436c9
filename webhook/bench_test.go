package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/webhook"
)

// BenchmarkSender is how many events per second one sender delivers to a
// local receiver that answers 204 at once: full batches back to back.
func BenchmarkSender(b *testing.B) {
	var got atomic.Int64
	all := make(chan struct{})
	n := int64((b.N + webhook.DefaultBatch - 1) / webhook.DefaultBatch * webhook.DefaultBatch)
	seq := []byte(`"seq":`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if got.Add(int64(bytes.Count(body, seq))) == n {
			close(all)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s, err := webhook.New(webhook.Config{URL: srv.URL, Secret: secret, Queue: int(n)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	at := time.Now()
	b.ResetTimer()
	for i := range n {
		s.PresenceChanged(webhook.PresenceChange{User: fmt.Sprint("user-", i%10000), Status: presence.Online,
			Previous: presence.Away, Reason: "active", At: at})
	}
	<-all
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	cancel()
	<-done
}

// BenchmarkPresenceChanged is what the hub pays per change.
func BenchmarkPresenceChanged(b *testing.B) {
	s, err := webhook.New(webhook.Config{URL: "http://127.0.0.1:1/", Secret: secret})
	if err != nil {
		b.Fatal(err)
	}
	c := webhook.PresenceChange{User: "alice", Status: presence.Online, Reason: "active", At: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		s.PresenceChanged(c)
	}
}
