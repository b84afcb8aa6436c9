package web

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/presenced/presenced/hub"
)

// metrics are the server's Prometheus metrics, on a registry of its own.
// No label carries a user id: label values are bounded sets.
type metrics struct {
	reg           *prometheus.Registry
	commands      *prometheus.CounterVec
	errors        *prometheus.CounterVec
	closes        *prometheus.CounterVec
	fanoutFrames  prometheus.Counter
	slowConsumers prometheus.Counter
	refused       *prometheus.CounterVec
	connsRefused  *prometheus.CounterVec
	idleClosed    prometheus.Counter
}

func newMetrics(h *hub.Hub, node string) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presence_commands_total", Help: "Client commands received, by type (invalid: frames that did not decode).",
		}, []string{"type"}),
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
	var reg prometheus.Registerer = m.reg
	if node != "" {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"node": node}, reg)
	}
	reg.MustRegister(m.commands, m.errors, m.closes, m.fanoutFrames, m.slowConsumers, m.refused, m.connsRefused, m.idleClosed,
		hubCollector{h}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// hubCollector asks the hub for its figures at each scrape.
type hubCollector struct{ h *hub.Hub }

var (
	connectionsDesc = prometheus.NewDesc("presence_connections", "Live authenticated connections.", nil, nil)
	usersDesc       = prometheus.NewDesc("presence_users", "Connected users, by what others see (invisible: connected as offline).", []string{"status"}, nil)
)

func (hubCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- connectionsDesc
	ch <- usersDesc
}

func (c hubCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	t, ok := c.h.Tally(ctx)
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(connectionsDesc, prometheus.GaugeValue, float64(t.Connections))
	for status, n := range map[string]int{"online": t.Online, "away": t.Away, "busy": t.Busy, "invisible": t.Invisible} {
		ch <- prometheus.MustNewConstMetric(usersDesc, prometheus.GaugeValue, float64(n), status)
	}
}
