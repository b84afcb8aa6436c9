// Package presence is the model of who is online: presence values, the state
// of one connection, and the rule that turns a user's connections and manual
// status into the status everyone else sees.
//
// Everything here is a pure function of its arguments (time included): no
// goroutines, clocks, sockets or storage. It is safe for concurrent use
// because it holds no state.
package presence
