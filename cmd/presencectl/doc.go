// Presencectl is the admin and load-test client of presenced. It speaks
// presence protocol v1 over WebSocket, like any other client, or the HTTP
// API, and never links the server's packages.
//
// Usage:
//
//	presencectl token -secret S -user ID [-name N] [-admin] [-ttl 1h]
//	presencectl load [-url ws://127.0.0.1:8080/ws]... [-n 100] [-users N] [-rate 200]
//	                 [-duration 30s] [-subscribe K | -subscribe-all] [-churn 0.01]
//	                 [-secret S] [-source-ips 127.0.0.2-127.0.0.20] [-json]
//	presencectl stats
//	presencectl service on|off
//	presencectl statuses list [-query Q] [-offset N] [-limit N]
//	presencectl statuses create -name N -presence busy
//	presencectl statuses update -id ID -name N -presence busy
//	presencectl statuses delete -id ID
//	presencectl settings -idle-limit 5m
//	presencectl status set USER STATUS [-text T] [-until 1h]
//	presencectl query USER...
//
// The admin commands take -url, and a token from -token, or minted with
// -secret for -user (an admin unless -admin=false), or else fetched from
// the server's /dev/token (dev mode only). With -api-key, or an http(s)
// -url, they use the HTTP API (with the key or that token) instead of a
// socket; status and query always do. They print the result readably,
// or as JSON with -json. A refused command prints
// "presencectl: CODE: MESSAGE" and exits with status 1; a usage error
// exits with status 2.
//
// Load opens -n connections (each says hello and subscribes), holds them
// for -duration while -churn of the users change status every second,
// prints progress to standard error once a second, and at the end a
// summary: connections made and failed, connect rate, the latency of
// presence changes from sender to subscribers, the service states seen,
// frames received and closes by code. See docs/presencectl.md.
package main
