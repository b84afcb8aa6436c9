// Package redisstore is the store.Store kept in Redis, for a node run for
// real and for several nodes sharing one workspace. docs/redis.md lists every
// key it writes.
//
// # What it owns
//
// Every key under its prefix (Options.Prefix, "presence:" by default) except
// those of package cluster (nodes, conns, node:*, and the events channel),
// and one go-redis client with its connection pool. It needs Redis 7.0 or later and sends no
// command newer than 7.0 (the client's CLIENT SETINFO and maintenance
// notification handshakes are turned off).
//
// # Atomicity
//
// What must not interleave runs inside Redis as one Lua script (EVALSHA,
// falling back to EVAL): creating, renaming and deleting a custom status
// together with its entry in the name index, so two nodes can never both
// take one name; and raising the peak. Nothing is checked in Go and then
// written. PutUser replaces a user in one MULTI/EXEC. Listing reads are not
// snapshots: a status or user removed while CustomStatuses or Users runs is
// left out, never returned half-read.
//
// # Concurrency and failure
//
// A Store is safe for concurrent use. Every call takes a context, honours
// its deadline, and is bounded besides by the dial, read and write timeouts
// of Options, so a Redis that vanished or stopped answering turns into
// errors within about a second instead of a hung caller. Commands are not
// retried: a retried create whose first reply was lost would report its own
// success as a conflict, so the caller decides whether to try again.
package redisstore
