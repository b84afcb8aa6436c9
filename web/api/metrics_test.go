package api_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsByRouteAndCode(t *testing.T) {
	n := startNode(t, options{})
	alice := token(t, "alice", false)
	n.ok(t, "GET", "/api/v1/users/bob", alice, nil, nil)
	n.ok(t, "GET", "/api/v1/users/carol", alice, nil, nil)
	n.do(t, "GET", "/api/v1/stats", alice, nil)
	n.do(t, "GET", "/api/v1/no/such/thing", alice, nil)

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(n.api)
	want := `
# HELP presence_api_requests_total HTTP API requests, by route and status code.
# TYPE presence_api_requests_total counter
presence_api_requests_total{code="200",route="GET /api/v1/users/{id}"} 2
presence_api_requests_total{code="403",route="GET /api/v1/stats"} 1
presence_api_requests_total{code="404",route="unmatched"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "presence_api_requests_total"); err != nil {
		t.Error(err)
	}
	// One latency series per route, none per user.
	if got := testutil.CollectAndCount(n.api, "presence_api_request_duration_seconds"); got != 3 {
		t.Errorf("%d latency series, want 3 (two routes and unmatched)", got)
	}
}
