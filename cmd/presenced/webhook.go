package main

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web"
	"github.com/presenced/presenced/webhook"
)

// checkWebhook validates the -webhook-* flags, if any is set: a URL without
// a secret, or a bad one, refuses to start.
func checkWebhook(c *webhook.Config) error {
	if !c.Enabled() {
		return nil
	}
	return c.Validate()
}

// leaseTTL is the webhook lease's TTL for a node TTL. A standby tries to
// take the lease every lease TTL/3, so a dead holder's lease is taken over
// within 4/3 of the lease TTL: 8/9 of the node TTL, which leaves room for
// late timers on a busy machine.
func leaseTTL(nodeTTL time.Duration) time.Duration { return nodeTTL * 2 / 3 }

// newWebhook returns the sender of cfg's -webhook-* flags, its metrics on
// metrics' registry, or nil when webhooks are off. With Redis (rdb), the
// nodes share a lease so that exactly one of them sends.
func newWebhook(cfg config, rdb redis.UniversalClient, metrics *web.Metrics, log zerolog.Logger) (*webhook.Sender, error) {
	wc := cfg.webhook
	if !wc.Enabled() {
		return nil, nil
	}
	wc.Registerer = metrics.Registerer()
	wc.Log = log
	if rdb != nil {
		wc.Lease = webhook.NewRedisLease(rdb, webhook.DefaultLeasePrefix, cfg.nodeID)
		wc.LeaseTTL = leaseTTL(cfg.nodeTTL)
	}
	return webhook.New(wc)
}

// runWebhook runs s until ctx ends, then for up to its flush timeout; the
// returned function waits for that. With no sender both do nothing.
func runWebhook(ctx context.Context, s *webhook.Sender) (wait func()) {
	if s == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	return func() { <-done }
}

// hookSink hands the hub's changes to a webhook sender, translated into the
// sender's own types, which keep hub types out of package webhook.
type hookSink struct{ s *webhook.Sender }

var _ hub.ChangeSink = hookSink{}

// OnPresence implements hub.ChangeSink.
func (k hookSink) OnPresence(c hub.PresenceChange) {
	k.s.PresenceChanged(webhook.PresenceChange{User: c.User, Status: c.Status, Previous: c.Previous,
		Text: c.Text, Custom: c.Custom, Until: c.Until, Reason: c.Reason.String(), At: c.At})
}

// OnService implements hub.ChangeSink.
func (k hookSink) OnService(c hub.ServiceChange) {
	k.s.ServiceChanged(webhook.ServiceChange{Enabled: c.Enabled, Reason: c.Reason, At: c.At})
}

// OnCatalog implements hub.ChangeSink.
func (k hookSink) OnCatalog(c hub.CatalogChange) {
	k.s.StatusesChanged(webhook.StatusesChange{Op: string(c.Op), At: c.At, Status: webhook.CustomStatus{
		ID: c.Status.ID, Name: c.Status.Name, Presence: c.Status.Presence, Duration: c.Status.Duration}})
}
