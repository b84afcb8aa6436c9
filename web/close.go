package web

import (
	"time"

	"github.com/coder/websocket"
)

// closeGrace is how long a close handshake may take before the connection
// is dropped.
const closeGrace = time.Second

// closeReason is why a connection ended. Each has one row in closeReasons:
// the close code and text the server sends (none for endings the peer
// caused) and its label in presence_closes_total.
type closeReason int

// The reasons a connection ends.
const (
	closeUnauthorized closeReason = iota + 1 // hello refused (4001)
	closeTokenExpired                        // the token's exp passed without a refresh (4001)
	closeAuthTimeout                         // no hello in time (4002)
	closeRateLimited                         // sustained rate-limit violations (4008)
	closeTooSlow                             // updates not read: a slow consumer (4009)
	closeTooManyConns                        // the user has too many connections (1008)
	closeShutdown                            // the server is going away (1001)
	closeWriteError                          // a write failed (1011)
	closeBye                                 // the client said bye (1000, after the reply)
	closeSignedOut                           // the user was signed out elsewhere (4003)
	closeDead                                // silent for 2.5 heartbeats: dropped, no close frame
	closeTooBig                              // the client sent a frame over the limit
	closeGone                                // the connection dropped without a close
	closeByClient                            // the client closed it
)

var closeReasons = [...]struct {
	code   websocket.StatusCode // 0: the server sends no close frame
	text   string
	metric string
}{
	closeUnauthorized: {4001, "unauthorized", "unauthorized"},
	closeTokenExpired: {4001, "token expired", "token_expired"},
	closeAuthTimeout:  {4002, "auth timeout", "auth_timeout"},
	closeRateLimited:  {4008, "rate limited", "rate_limited"},
	closeTooSlow:      {4009, "too slow: updates were not read", "slow"},
	closeTooManyConns: {websocket.StatusPolicyViolation, "too many connections for this user", "too_many_conns"},
	closeShutdown:     {websocket.StatusGoingAway, "server going away", "shutdown"},
	closeWriteError:   {websocket.StatusInternalError, "write failed", "write_error"},
	closeBye:          {websocket.StatusNormalClosure, "bye", "bye"},
	closeSignedOut:    {4003, "signed out", "signed_out"},
	closeDead:         {0, "", "dead"},
	closeTooBig:       {0, "", "too_big"},
	closeGone:         {0, "", "gone"},
	closeByClient:     {0, "", "client"},
}

// close sends ws the close frame of r.
func (r closeReason) close(ws *websocket.Conn) error {
	row := closeReasons[r]
	return ws.Close(row.code, row.text)
}

func (r closeReason) metric() string { return closeReasons[r].metric }
