// Package boltstore is the embedded store.Store: every record of a workspace
// in one bbolt file, presenced.db, inside the data folder given to Open. It is
// the default backend of a single presenced node.
//
// # What it owns
//
// The file and its lock. bbolt takes an exclusive flock on the file for as
// long as the Store is open, so a second presenced process (or a second Open
// in the same process) on the same folder fails at Open after
// Options.Timeout, with an error that names the folder, instead of waiting
// forever or corrupting the file.
//
// # Layout
//
// One bucket per record kind, values JSON:
//
//	statuses      custom status id   -> {"id","name","presence","duration"}
//	status_names  status.Key(name)   -> custom status id (the uniqueness index)
//	users         user id            -> {"id","manual","text","custom","idle_limit","auto_away","last_seen","until"}
//	workspace     "service"          -> {"enabled","reason","since"}
//	              "settings"         -> {"idle_limit"}
//	              "peak"             -> decimal text, e.g. "42"
//
// Presence values are their wire names ("busy"). Times are RFC 3339 with
// nanoseconds in UTC, "" for the zero time. Durations are Go duration strings
// ("1m30.25s"): readable and, unlike milliseconds, exact, so a round trip
// returns the very value that was stored.
//
// # Concurrency
//
// A Store is safe for concurrent use. bbolt runs one write transaction at a
// time and any number of reads beside it; every method is one transaction, so
// each is atomic on its own: the name check and the name index change of a
// custom status commit together or not at all, and RaisePeak's
// read-compare-write cannot interleave with another. A write waits for the
// write before it to commit (an fsync): callers that must not block, like the
// hub loop, call the store from their own goroutine.
//
// bbolt takes no context. Each method checks its context before it starts and
// does not start work on a cancelled one; once a transaction has begun it
// runs to its end.
package boltstore
