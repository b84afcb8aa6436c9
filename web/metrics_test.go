package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Another part's metrics, registered on Metrics.Registerer, are served on
// /metrics with the node label, like the server's own.
func TestOtherPartsMetricsServedWithNodeLabel(t *testing.T) {
	m := NewMetrics("n1")
	sent := prometheus.NewCounter(prometheus.CounterOpts{Name: "presence_webhook_test_total", Help: "A part's counter."})
	m.Registerer().MustRegister(sent)
	sent.Inc()
	n := startNode(t, options{web: Config{Metrics: m}})
	srv := httptest.NewServer(n.srv.AdminHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	for _, want := range []string{`presence_webhook_test_total{node="n1"} 1`, `presence_connections{node="n1"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
