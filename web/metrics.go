package web

import (
	"context"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/store"
)

// Metrics are a server's Prometheus metrics, on a registry of their own.
// No label carries a user id: label values are bounded sets. Create them
// with NewMetrics before the store is opened, to observe its writes
// (store.Observe); New creates them when Config.Metrics is nil. One
// Metrics serves one Server.
type Metrics struct {
	reg           *prometheus.Registry
	registerer    prometheus.Registerer // reg, with the node label if any
	commands      *prometheus.CounterVec
	commandTime   *prometheus.HistogramVec
	httpTime      *prometheus.HistogramVec
	storeTime     *prometheus.HistogramVec
	storeErrors   *prometheus.CounterVec
	errors        *prometheus.CounterVec
	closes        *prometheus.CounterVec
	fanoutFrames  prometheus.Counter
	slowConsumers prometheus.Counter
	refused       *prometheus.CounterVec
	connsRefused  *prometheus.CounterVec
	idleClosed    prometheus.Counter
}

// ClusterCounts are a backplane's counters since it started.
type ClusterCounts interface {
	MessageCounts() (published, received, resyncs uint64)
}

// latencyBuckets span a command answered from memory (tens of
// microseconds) to a store write near its deadline (seconds).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// NewMetrics returns a server's metrics, each labelled with node when it is
// one of several (node empty: no label).
func NewMetrics(node string) *Metrics {
	reg := prometheus.NewRegistry()
	var registerer prometheus.Registerer = reg
	if node != "" {
		registerer = prometheus.WrapRegistererWith(prometheus.Labels{"node": node}, reg)
	}
	return &Metrics{
		reg:        reg,
		registerer: registerer,
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presence_commands_total", Help: "Client commands received, by type (invalid: frames that did not decode).",
		}, []string{"type"}),
		commandTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "presence_command_duration_seconds", Help: "Time from a command's frame read to its reply queued, by type.",
			Buckets: latencyBuckets,
		}, []string{"type"}),
		httpTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "presence_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route (for /ws: the upgrade).",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		storeTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "presence_store_write_duration_seconds", Help: "Time of one write to the store, by operation, failed or not.",
			Buckets: latencyBuckets,
		}, []string{"op"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presence_store_write_errors_total", Help: "Writes to the store that failed (the backend, not a conflict), by operation.",
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presence_errors_total", Help: "Error replies sent, by code.",
		}, []string{"code"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presence_closes_total", Help: "Connections closed, by reason.",
		}, []string{"reason"}),
		fanoutFrames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presence_fanout_frames_total", Help: "Presence frames written to subscribers.",
		}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presence_slow_consumer_kicks_total", Help: "Connections closed with 4009 because they did not read their updates.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presence_upgrades_refused_total", Help: "WebSocket upgrades refused by the handshake (bad origin, not a WebSocket request), by reason; refusals at accept are in presence_connections_refused_total.",
		}, []string{"reason"}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presence_connections_refused_total", Help: "TCP connections refused at accept (answered 503), by reason: capacity, pending, per_source.",
		}, []string{"reason"}),
		idleClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presence_idle_http_closed_total", Help: "Idle keep-alive HTTP connections closed to make room under pressure.",
		}),
	}
}

// ObserveWrite records one store write: a store.WriteObserver.
func (m *Metrics) ObserveWrite(op string, took time.Duration, err error) {
	m.storeTime.WithLabelValues(op).Observe(took.Seconds())
	if err != nil {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

var _ store.WriteObserver = (*Metrics)(nil)

// Registerer is where other parts of the process (the webhook sender)
// register their metrics, to be served on /metrics beside the server's,
// with the same node label.
func (m *Metrics) Registerer() prometheus.Registerer { return m.registerer }

// register registers every metric, and the collectors that ask the hub and
// the backplane at each scrape.
func (m *Metrics) register(h *hub.Hub, cluster ClusterCounts) {
	reg := m.registerer
	reg.MustRegister(m.commands, m.commandTime, m.httpTime, m.storeTime, m.storeErrors,
		m.errors, m.closes, m.fanoutFrames, m.slowConsumers, m.refused, m.connsRefused, m.idleClosed,
		hubCollector{h}, buildInfo(),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cluster != nil {
		reg.MustRegister(clusterCollector{cluster})
	}
}

// instrument times every request next serves, by the route that served it.
func (m *Metrics) instrument(next *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		next.ServeHTTP(w, r)
		route := r.Pattern // set by the mux; empty: nothing matched
		if route == "" {
			route = "unmatched"
		}
		m.httpTime.WithLabelValues(route).Observe(time.Since(began).Seconds())
	})
}

// buildInfo is presence_build_info: 1, labelled with what was built.
func buildInfo() prometheus.Collector {
	version, revision, goVersion := "unknown", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version, goVersion = bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "presence_build_info",
		Help:        "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	return g
}

// hubCollector asks the hub for its figures at each scrape.
type hubCollector struct{ h *hub.Hub }

var (
	connectionsDesc = prometheus.NewDesc("presence_connections", "Live authenticated connections on this node.", nil, nil)
	usersDesc       = prometheus.NewDesc("presence_users", "Connected users, by what others see (invisible: connected as offline).", []string{"status"}, nil)
	enabledDesc     = prometheus.NewDesc("presence_service_enabled", "1 while the presence service is on, 0 while it is off (by an admin or the connection limit).", nil, nil)
	limitDesc       = prometheus.NewDesc("presence_connection_limit", "The workspace's connection limit (free edition only).", nil, nil)
	peakDesc        = prometheus.NewDesc("presence_connections_peak", "The highest connection count recorded for the workspace.", nil, nil)
)

func (hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{connectionsDesc, usersDesc, enabledDesc, limitDesc, peakDesc} {
		ch <- d
	}
}

func (c hubCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	t, ok := c.h.Tally(ctx)
	if !ok {
		return
	}
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	gauge(connectionsDesc, t.Connections)
	for status, n := range map[string]int{"online": t.Online, "away": t.Away, "busy": t.Busy, "invisible": t.Invisible} {
		gauge(usersDesc, n, status)
	}
	enabled := 0
	if t.Enabled {
		enabled = 1
	}
	gauge(enabledDesc, enabled)
	if t.Limit > 0 {
		gauge(limitDesc, t.Limit)
	}
	gauge(peakDesc, t.Peak)
}

// clusterCollector reads the backplane's counters at each scrape.
type clusterCollector struct{ c ClusterCounts }

var (
	clusterPublishedDesc = prometheus.NewDesc("presence_cluster_messages_published_total", "Messages this node published to the others.", nil, nil)
	clusterReceivedDesc  = prometheus.NewDesc("presence_cluster_messages_received_total", "Messages this node received from the others.", nil, nil)
	clusterResyncsDesc   = prometheus.NewDesc("presence_cluster_resyncs_total", "Full resyncs from Redis: at start, after a reconnection, on lost messages, or when asked.", nil, nil)
)

func (clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- clusterPublishedDesc
	ch <- clusterReceivedDesc
	ch <- clusterResyncsDesc
}

func (c clusterCollector) Collect(ch chan<- prometheus.Metric) {
	published, received, resyncs := c.c.MessageCounts()
	ch <- prometheus.MustNewConstMetric(clusterPublishedDesc, prometheus.CounterValue, float64(published))
	ch <- prometheus.MustNewConstMetric(clusterReceivedDesc, prometheus.CounterValue, float64(received))
	ch <- prometheus.MustNewConstMetric(clusterResyncsDesc, prometheus.CounterValue, float64(resyncs))
}
