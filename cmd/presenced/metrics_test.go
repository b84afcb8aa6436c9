package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/presenced/presenced/internal/testenv"
	"github.com/presenced/presenced/internal/testproc"
	"github.com/presenced/presenced/internal/wstest"
)

// scrape returns the body of /metrics at addr.
func scrape(t *testing.T, addr string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return body
}

// checkMetrics lints a running server's /metrics after a little traffic
// and checks that each figure an operator needs is there.
func checkMetrics(t *testing.T, want []string, args ...string) {
	admin := testproc.FreeAddr(t)
	p := startProc(t, nil, append(args, "-dev", "-admin-addr", admin, "-connection-limit", "50")...)
	c := wstest.Connect(t, "ws://"+p.addr+"/ws", devToken(t, p.addr, "root", true), 10*time.Second)
	c.OK(map[string]any{"type": "set_status", "status": "busy"})
	c.OK(map[string]any{"type": "admin.settings", "idle_limit_s": 600}) // a store write, answered once done
	c.Do(map[string]any{"type": "ping"})

	body := scrape(t, admin)
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, w := range want {
		if !bytes.Contains(body, []byte(w)) {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

var operatorMetrics = []string{
	"presence_service_enabled 1",
	"presence_connection_limit 50",
	"presence_connections_peak 1",
	"presence_connections 1",
	`presence_users{status="busy"} 1`,
	`presence_command_duration_seconds_count{type="set_status"} 1`,
	`presence_command_duration_seconds_count{type="ping"} 1`,
	`presence_command_duration_seconds_count{type="hello"} 1`,
	`presence_http_request_duration_seconds_count{route="GET /dev/token"} 1`,
	`presence_http_request_duration_seconds_count{route="GET /ws"} 1`,
	`presence_store_write_duration_seconds_count{op="put_settings"} 1`,
	"presence_build_info{",
}

func TestMetricsLintClean(t *testing.T) {
	checkMetrics(t, operatorMetrics, "-data", t.TempDir())
}

func TestMetricsLintCleanOnRedis(t *testing.T) {
	url := testenv.RedisURL(t)
	// On Redis every metric carries the node's name (labels in order), and
	// counts left by earlier runs in the shared Redis may differ: names only.
	var want []string
	for _, w := range append([]string{"presence_cluster_messages_published_total", "presence_cluster_resyncs_total"}, operatorMetrics...) {
		if i := strings.LastIndexByte(w, ' '); i > strings.LastIndexByte(w, '"') {
			w = w[:i] // the value
		}
		name, rest, labelled := strings.Cut(w, "{")
		switch {
		case labelled && rest == "": // presence_build_info{
			want = append(want, w)
		case labelled:
			want = append(want, name+`{node="n1",`+rest)
		default:
			want = append(want, name+`{node="n1"}`)
		}
	}
	checkMetrics(t, want, "-redis", url, "-node-name", "n1")
}
