package cluster

import (
	"context"
	"fmt"
	"sync/atomic"
)

// counts are what the node did, for metrics; safe from any goroutine.
// With Ping below, they are what operators see of the node.
type counts struct {
	published, received, resyncs atomic.Uint64
}

// MessageCounts returns how many messages this node published and received
// from the others, and how many full resyncs from Redis it ran (at start,
// after a reconnection, on lost messages or when asked), since it started.
func (n *Node) MessageCounts() (published, received, resyncs uint64) {
	return n.counts.published.Load(), n.counts.received.Load(), n.counts.resyncs.Load()
}

// Ping reports whether Redis answers, for the hub's readiness.
func (n *Node) Ping(ctx context.Context) error {
	if err := n.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cluster: ping redis: %w", err)
	}
	return nil
}
