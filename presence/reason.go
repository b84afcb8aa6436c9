package presence

import "time"

// Reason says why a user's status last changed. The zero value, NoReason,
// is that of a user never seen.
type Reason uint8

// The reasons, a closed list: the protocol's.
const (
	NoReason         Reason = iota
	ReasonConnect           // the user's first connection opened
	ReasonDisconnect        // the last connection closed, and its grace ended
	ReasonHeartbeat         // the last connection was found dead
	ReasonIdle              // the user went idle
	ReasonActive            // the user is active again
	ReasonManual            // the user, or a backend for them, chose a status
	ReasonExpired           // the chosen status reached its until
	ReasonCatalog           // an admin changed or deleted the custom status held
	ReasonNodeLost          // the node holding the connections died
)

var reasonNames = [...]string{
	NoReason:         "",
	ReasonConnect:    "connect",
	ReasonDisconnect: "disconnect",
	ReasonHeartbeat:  "heartbeat",
	ReasonIdle:       "idle",
	ReasonActive:     "active",
	ReasonManual:     "manual",
	ReasonExpired:    "expired",
	ReasonCatalog:    "catalog",
	ReasonNodeLost:   "node_lost",
}

// String returns the wire name of r; NoReason is "".
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "invalid"
}

// ParseReason parses a wire name ("" is NoReason); ok is false for anything
// else.
func ParseReason(name string) (r Reason, ok bool) {
	for i, n := range reasonNames {
		if n == name {
			return Reason(i), true
		}
	}
	return NoReason, false
}

// Why is the reason of a change a user's status went through because of
// cause, given the user's live connections before and after it.
//
// A connection that opens or ends says more than cause only when it is the
// first or the last: a second tab opening, or one of two closing, changes
// the status only through the state of the connections that are left, so
// the reason is theirs (active if any is online, else idle):
//
//   - ReasonConnect: ReasonConnect if the user had no live connection;
//   - ReasonDisconnect, ReasonHeartbeat, ReasonNodeLost: that reason if the
//     user has no live connection left;
//   - otherwise, for these: ReasonActive if a connection is online, else
//     ReasonIdle;
//   - every other cause is its own reason.
func Why(cause Reason, before, after Conns) Reason {
	switch cause {
	case ReasonConnect:
		if !before.Live() {
			return cause
		}
	case ReasonDisconnect, ReasonHeartbeat, ReasonNodeLost:
		if !after.Live() {
			return cause
		}
	default:
		return cause
	}
	if after.Online > 0 {
		return ReasonActive
	}
	return ReasonIdle
}

// OfflineAt is when a user whose last connection closed at closed reads
// offline, given the reconnect grace (zero or less: at once). A connection
// of the same user before then continues as if nothing happened.
func OfflineAt(closed time.Time, grace time.Duration) time.Time {
	return closed.Add(max(grace, 0))
}

// Expired reports whether a status with this until has ended at now. The
// zero until never ends.
func Expired(until, now time.Time) bool {
	return !until.IsZero() && !now.Before(until)
}
