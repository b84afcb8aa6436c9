// Package wire holds the messages of presence protocol v1 (docs/protocol.md)
// and their JSON codec: what clients send, how it is checked, and what the
// server answers. The server, presencectl and the tests share it.
//
// It knows nothing of sockets or the hub, keeps no state and is safe for
// concurrent use.
package wire
