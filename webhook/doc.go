// Package webhook sends a workspace's status changes to a backend over HTTP:
// batches of presence.changed, service.changed and statuses.changed events,
// signed the Standard Webhooks way (https://www.standardwebhooks.com), and
// retried until the receiver answers 2xx.
//
// A Sender is a subscriber of the hub. The hub calls PresenceChanged,
// ServiceChanged and StatusesChanged from its goroutine; each takes the
// change into the Sender's own bounded queue under a short lock and returns,
// so a slow or dead receiver never slows the hub. Run owns the rest: one
// goroutine that batches the queue and posts one batch at a time with its
// retries, and, in a cluster, one that holds the Lease that makes exactly one
// node the sender. Run joins both before it returns.
//
// Time comes from an injected Clock and jitter from an injected random
// source, so tests move time instead of sleeping.
package webhook
