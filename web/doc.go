// Package web is the hub's edge: the HTTP server, WebSocket accept and
// authentication, the JSON codec of the protocol, each connection's read
// loop and outbox, the health and metrics endpoints and the bundled page.
//
// Each connection has one long-lived goroutine, the read loop that runs in
// its HTTP handler. Writes happen in a short-lived goroutine started when
// the connection's outbox gets work and ended when it is empty, so an idle
// connection holds no writer, and a slow one never delays another. The hub
// talks to a connection only through its outbox, which never blocks. One
// goroutine of the server's pings every connection (heartbeat.go), and
// another returns memory after bursts of connects (memory.go); Serve ends
// both.
package web
