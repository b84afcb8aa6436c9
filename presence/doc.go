// Package presence is the model of who is online: presence values, the state
// of one connection, the rule that turns a user's connections and manual
// status into the status everyone else sees, the reason each change has,
// and the deadlines (idle, heartbeat, reconnect grace, status expiry) as
// pure functions of time.
//
// Everything here but Histories is a pure function of its arguments (time
// included): no goroutines, clocks, sockets or storage, and no state, so it
// is safe for concurrent use. Histories is a bounded data structure of the
// recent transitions, not safe for concurrent use: its owner (the hub
// goroutine) serialises access.
package presence
