// Package store declares the durable state of a workspace and the one
// interface every storage backend implements: custom statuses, each user's
// chosen status and preferences, the workspace settings and the presence
// service state with its peak connection count.
//
// The custom status record is status.Custom: package status owns what a
// custom status is; this package owns how it is kept.
//
// Implementations live in sub-packages (boltstore, the embedded default, and
// redisstore); storetest is the contract suite that both run. Every method
// takes a context and is safe for concurrent use. Nothing here knows about the
// hub or the wire protocol.
package store
