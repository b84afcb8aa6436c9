package webhook

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a batch (presence_webhook_deliveries_total) and reasons events
// are dropped (presence_webhook_events_dropped_total).
const (
	resultDelivered = "delivered"  // a 2xx
	resultExpired   = "expired"    // retried for RetryFor, given up
	resultShutdown  = "shutdown"   // still unsent when the flush ran out
	resultLeaseLost = "lease_lost" // another node took over the sending
	dropQueueFull   = "queue_full" // pushed out of a full queue
)

// Outcomes of one attempt (presence_webhook_attempts_total).
const (
	attemptOK      = "ok"      // 2xx
	attemptStatus  = "status"  // any other status, a redirect included
	attemptTimeout = "timeout" // no full answer within Timeout
	attemptError   = "error"   // refused, reset, DNS, TLS...
)

type metrics struct {
	deliveries *prometheus.CounterVec
	attempts   *prometheus.CounterVec
	dropped    *prometheus.CounterVec
	delivered  prometheus.Counter
	latency    prometheus.Histogram
	request    prometheus.Histogram
	leaseHeld  prometheus.Gauge
	depth      prometheus.GaugeFunc
	oldest     prometheus.GaugeFunc
}

func newMetrics(s *Sender) *metrics {
	return &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presence_webhook_deliveries_total",
			Help: "Webhook batches done with, by result: delivered, expired (retried 24 h), shutdown (unsent at exit), lease_lost.",
		}, []string{"result"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presence_webhook_attempts_total",
			Help: "Webhook POSTs, by outcome: ok (2xx), status (any other), timeout, error (refused, reset...).",
		}, []string{"outcome"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presence_webhook_events_dropped_total",
			Help: "Webhook events never delivered, by reason: queue_full (oldest pushed out), expired, shutdown, lease_lost.",
		}, []string{"reason"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presence_webhook_events_delivered_total",
			Help: "Webhook events in batches answered 2xx.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "presence_webhook_delivery_latency_seconds",
			Help:    "From a batch's oldest event entering the queue to the receiver's 2xx.",
			Buckets: []float64{.1, .25, .5, 1, 1.5, 2, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400},
		}),
		request: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "presence_webhook_request_duration_seconds",
			Help:    "Duration of one webhook POST, whatever its outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		leaseHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "presence_webhook_sender",
			Help: "1 while this node is the cluster's webhook sender (holds the lease), else 0.",
		}),
		depth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "presence_webhook_queue_events",
			Help: "Webhook events queued, the batch in flight included.",
		}, func() float64 { n, _ := s.backlog(); return float64(n) }),
		oldest: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "presence_webhook_oldest_event_age_seconds",
			Help: "Age of the oldest undelivered webhook event; 0 when none.",
		}, func() float64 { _, age := s.backlog(); return age.Seconds() }),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.deliveries, m.attempts, m.dropped, m.delivered,
		m.latency, m.request, m.leaseHeld, m.depth, m.oldest} {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("webhook: register metrics: %w", err)
		}
	}
	return nil
}
