// Package redisstore is the store.Store kept in Redis, for a node run for
// real and for several nodes sharing one workspace: on one server, behind
// Sentinel, or on Redis Cluster. docs/redis.md lists every key it writes.
//
// # What it owns
//
// Every key under its prefix (Options.Prefix, "{presence}:" by default)
// except the cluster backplane's (package cluster), and Dial, which turns a
// -redis URL (redis://, rediss://, redis+sentinel://, redis+cluster://) into
// the one redis.UniversalClient that the store and the backplane share. New
// takes such a client and leaves closing it to the caller; Open dials and
// owns its client. It needs Redis 7.0 or later and sends no command newer
// than 7.0 (the client's CLIENT SETINFO and maintenance notification
// handshakes are turned off).
//
// # Atomicity
//
// What must not interleave runs inside Redis as one Lua script: creating,
// renaming and deleting a custom status together with its entry in the name
// index, so two nodes can never both take one name; replacing a user with
// its entry in the set of users; and raising the peak. Nothing is checked in
// Go and then written. The prefix's hash tag keeps every key in one Redis
// Cluster slot, where multi-key scripts are allowed. Listing reads are not
// snapshots: a status or user removed while CustomStatuses or Users runs is
// left out, never returned half-read.
//
// # Durability
//
// Every write goes, in one pipeline, to the master that holds the
// workspace, followed by WAIT on the same connection when a replica must
// acknowledge it (Options.Replicas): a write that returned nil survives the
// master's death. One that too few replicas acknowledged in time fails with
// ErrNotReplicated, though the master has it.
//
// # Concurrency and failure
//
// A Store is safe for concurrent use. Every call takes a context, honours
// its deadline, and is bounded besides by the dial, read and write timeouts
// of DialOptions, so a Redis that vanished or stopped answering turns into
// errors within about a second instead of a hung caller. Commands are not
// retried: a retried create whose first reply was lost would report its own
// success as a conflict, so the caller decides whether to try again.
package redisstore
