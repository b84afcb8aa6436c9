//go:build linux

package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/webhook"
)

// TestSoakFailingReceiver measures what a receiver that answers 500 costs
// the node at 1,000 changes/s. It runs only when PRESENCE_WEBHOOK_SOAK is a
// duration (60s, 10m); see docs/webhooks.md for the figures.
func TestSoakFailingReceiver(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("PRESENCE_WEBHOOK_SOAK"))
	if err != nil {
		t.Skip("set PRESENCE_WEBHOOK_SOAK=60s to measure a failing receiver at 1,000 changes/s")
	}
	var attempts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		attempts.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	s, err := webhook.New(webhook.Config{URL: srv.URL, Secret: secret, Registerer: reg, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	cpu0 := cpuTime()
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	sent := 0
	statuses := []presence.Status{presence.Online, presence.Away, presence.Busy}
	for time.Since(start) < d {
		<-tick.C
		// Catch up on ticks a loaded machine skipped: 1,000 per second.
		for range int(time.Since(start).Milliseconds()) - sent {
			s.PresenceChanged(webhook.PresenceChange{User: fmt.Sprint("user-", sent%1000), Status: statuses[sent%3],
				Previous: statuses[(sent+2)%3], Text: "a status text", Reason: "manual", At: time.Now()})
			sent++
		}
	}
	tick.Stop()
	cpu := cpuTime() - cpu0
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mfs, _ := reg.Gather()
	var queued float64
	for _, mf := range mfs {
		if mf.GetName() == "presence_webhook_queue_events" {
			queued = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Logf("%v at %d changes: CPU %v (%.1f %% of a core), heap in use %.1f MiB after GC, RSS %s, %d attempts, %.0f events queued",
		d, sent, cpu.Round(time.Millisecond), 100*cpu.Seconds()/time.Since(start).Seconds(),
		float64(ms.HeapInuse)/(1<<20), rss(), attempts.Load(), queued)
	cancel()
	<-done
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rss() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			return strings.Join(strings.Fields(l)[1:], " ")
		}
	}
	return "?"
}
