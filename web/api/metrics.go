package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics count the API's requests. The route label is the pattern that
// matched ("GET /api/v1/users/{id}"), never a path with a user id in it,
// or "unmatched": label values stay a small, bounded set.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presence_api_requests_total", Help: "HTTP API requests, by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "presence_api_request_duration_seconds", Help: "HTTP API request latency, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
}

// serve serves r with mux, and counts it under the route that matched. It
// returns the route and the status answered.
func (m *metrics) serve(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) (string, int) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	// The mux sets r.Pattern to the route it picks; the catch-all "/" is
	// not a route.
	mux.ServeHTTP(sw, r)
	route := r.Pattern
	if route == "" || route == "/" {
		route = "unmatched"
	}
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
	m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	return route, sw.status
}

// Describe and Collect make an API a prometheus.Collector of its metrics.
func (a *API) Describe(ch chan<- *prometheus.Desc) {
	a.metrics.requests.Describe(ch)
	a.metrics.latency.Describe(ch)
}

// Collect collects the API's metrics.
func (a *API) Collect(ch chan<- prometheus.Metric) {
	a.metrics.requests.Collect(ch)
	a.metrics.latency.Collect(ch)
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
