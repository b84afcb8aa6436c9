// Package hub owns the live state of a workspace: every connection, every
// user's presence, who subscribes to whom, the custom status catalog, the
// presence service switch and the connection limit.
//
// One goroutine (Run) owns all of it. Callers send typed commands into its
// inbox (Connect, Disconnect, Do) and never wait for the hub after it stops
// (with a backplane, Connect and Disconnect first count the connection
// through it, off the hub goroutine, for up to a second);
// answers and events come back through each connection's Sink, whose methods
// the hub calls from its goroutine and which must never block. The hub never
// waits on a socket or on the store: durable writes go through a writer
// goroutine, and their outcome comes back to the inbox as a command.
//
// The files follow the protocol: connections, subscriptions, self (a user's
// own status), grace (the reconnect grace, bye), expiry, history, catalog
// (custom statuses), service (the switch and the limit), admin, backplane,
// changes (what webhooks are told).
//
// Every timed rule (a connection going idle, a user's reconnect grace
// ending, a chosen status expiring) is one deadline on one heap, with one
// timer aimed at the earliest. Time comes from package time; tests run the
// hub under testing/synctest.
package hub
