package cluster

import "sync/atomic"

// counts are what the node did, for metrics; safe from any goroutine.
type counts struct {
	published, received, resyncs atomic.Uint64
}

// MessageCounts returns how many messages this node published and received
// from the others, and how many full resyncs from Redis it ran (at start,
// after a reconnection, on lost messages or when asked), since it started.
func (n *Node) MessageCounts() (published, received, resyncs uint64) {
	return n.counts.published.Load(), n.counts.received.Load(), n.counts.resyncs.Load()
}
