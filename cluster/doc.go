// Package cluster is the backplane that lets several presenced nodes serve
// one workspace through one Redis: one server, Sentinel's master, or Redis
// Cluster. Each node publishes its users' local connections and every
// durable change on a Redis channel (sharded pub/sub on Redis Cluster),
// keeps the authoritative copy of its connections in a hash of its own,
// refreshes a heartbeat key with a short TTL, and counts its connections in
// a shared hash. Every key and the channel share the prefix's hash tag, so
// they live in one slot. Survivors remove a node whose heartbeat expired.
// Pub/sub may drop messages, so every message carries the sender's sequence
// number and a node resyncs (from the hashes and the store) on a gap, on an
// unreadable message, on a resubscription (after a failover too) and at
// start-up. wire.go is the message format; docs/cluster.md describes the
// design and its timings; docs/redis.md lists the keys.
//
// A Node runs three goroutines inside Run (publisher, subscriber,
// heartbeat) and joins them before Run returns. Publish and Add are safe
// for concurrent use; Publish never blocks.
package cluster
