package api_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/web/api"
)

// queryPath asks for 100 users: the case.
func queryPath() string {
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = "user-" + strconv.Itoa(i)
	}
	return "/api/v1/presence?users=" + strings.Join(ids, ",")
}

// BenchmarkQuery100 is GET /api/v1/presence with 100 ids, over loopback
// HTTP with keep-alive, from parallel clients.
func BenchmarkQuery100(b *testing.B) {
	n := startBenchNode(b)
	runQueries(b, n)
}

// BenchmarkQuery100Loaded is the same against a node holding
// PRESENCE_BENCH_CONNS idle sockets (default 2,000), each subscribed to 10
// of the users asked, with a probe that measures what the HTTP load costs
// a socket client: the latency of a status change from one socket to
// another, before and during the load.
func BenchmarkQuery100Loaded(b *testing.B) {
	conns := 2000
	if v := os.Getenv("PRESENCE_BENCH_CONNS"); v != "" {
		conns, _ = strconv.Atoi(v)
	}
	n := startBenchNode(b)
	holdSockets(b, n, conns)
	idle := probe(b, n, 2*time.Second, nil)
	var loaded []time.Duration
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { loaded = probe(b, n, 0, stop); close(done) }()
	runQueries(b, n)
	close(stop)
	<-done
	b.ReportMetric(pct(idle, 99), "socket-p99-idle-ms")
	b.ReportMetric(pct(loaded, 99), "socket-p99-loaded-ms")
}

// startBenchNode is a node for benchmarks: enterprise (no limit to trip),
// the API key unthrottled, and the 100 users of queryPath each with a
// status.
func startBenchNode(b *testing.B) *node {
	b.Helper()
	n := startNode(b, options{
		hub: hub.Config{Edition: hub.Enterprise},
		api: api.Config{KeyRateLimit: 1e9, KeyRateBurst: 1e9},
	})
	ctx := context.Background()
	for i := range 100 {
		st := []presence.Status{presence.Online, presence.Away, presence.Busy, presence.Offline}[i%4]
		if _, err := n.hub.Exec(ctx, hub.Actor{User: "user-" + strconv.Itoa(i)}, hub.SetStatus{Manual: st, Text: "status text " + strconv.Itoa(i)}); err != nil {
			b.Fatal(err)
		}
	}
	return n
}

// runQueries runs b.N queries from parallel clients and reports the
// rate and the p99 latency.
func runQueries(b *testing.B, n *node) {
	b.Helper()
	url := n.url + queryPath()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+apiKey)
			t0 := time.Now()
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(lat, 99), "p99-ms")
}

// holdSockets opens count signed-in sockets that each subscribe to 10 of
// the queried users and then only read (answering pings).
func holdSockets(b *testing.B, n *node, count int) {
	b.Helper()
	wsURL := "ws" + strings.TrimPrefix(n.url, "http") + "/ws"
	tok := map[int]string{}
	for i := range 50 {
		tok[i] = token(b, "holder-"+strconv.Itoa(i), false)
	}
	ctx := context.Background()
	for i := range count {
		ws, _, err := websocket.Dial(ctx, wsURL, nil)
		if err != nil {
			b.Fatalf("socket %d: %v", i, err)
		}
		b.Cleanup(func() { ws.CloseNow() })
		subs := make([]string, 10)
		for j := range subs {
			subs[j] = `"user-` + strconv.Itoa((i+j*7)%100) + `"`
		}
		for _, f := range []string{
			`{"type":"hello","token":"` + tok[i%50] + `"}`,
			`{"type":"subscribe","users":[` + strings.Join(subs, ",") + `]}`,
		} {
			if err := ws.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
				b.Fatal(err)
			}
		}
		ws.CloseRead(ctx)
	}
}

// probe measures the latency of status changes from one socket to a
// subscriber of it, every 20 ms, for d or until stop.
func probe(b *testing.B, n *node, d time.Duration, stop <-chan struct{}) []time.Duration {
	setter := n.connect(b, "probe", false)
	watcher := n.connect(b, "probe-watcher", false)
	watcher.OK(map[string]any{"type": "subscribe", "users": []string{"probe"}})
	var lat []time.Duration
	end := time.After(d)
	if d == 0 {
		end = nil
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return lat
		case <-end:
			return lat
		case <-time.After(20 * time.Millisecond):
		}
		st := []string{"busy", "away"}[i%2]
		t0 := time.Now()
		setter.Send(map[string]any{"type": "set_status", "status": st})
		watcher.PresenceOf("probe", st)
		lat = append(lat, time.Since(t0))
	}
}

// pct is the p-th percentile of ds, in milliseconds.
func pct(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return float64(ds[min(len(ds)-1, len(ds)*p/100)]) / float64(time.Millisecond)
}
