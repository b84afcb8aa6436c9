package presence

import "time"

// Status is a presence value. The zero value is Offline.
type Status uint8

// The presence values, in the order of the protocol.
const (
	Offline Status = iota
	Online
	Away
	Busy
)

var statusNames = [...]string{Offline: "offline", Online: "online", Away: "away", Busy: "busy"}

// String returns the wire name of s.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "invalid"
}

// ParseStatus parses a wire name; ok is false for anything else.
func ParseStatus(name string) (s Status, ok bool) {
	for i, n := range statusNames {
		if n == name {
			return Status(i), true
		}
	}
	return Offline, false
}

// Conns counts a user's live connections by state. A connection is either
// online (active) or away (idle).
type Conns struct {
	Online int
	Away   int
}

// Live reports whether the user has any live connection.
func (c Conns) Live() bool { return c.Online+c.Away > 0 }

// Effective is the status others see for a user with manual status manual
// (Online meaning "automatic") and live connections conns:
//
//   - no live connection: Offline;
//   - manual Online: Online if any connection is online, else Away;
//   - manual Away, Busy or Offline: that value (Offline while connected is
//     "invisible").
func Effective(manual Status, conns Conns) Status {
	switch {
	case !conns.Live():
		return Offline
	case manual != Online:
		return manual
	case conns.Online > 0:
		return Online
	default:
		return Away
	}
}

// deadAfterHalves is how many half heartbeat intervals a connection may
// stay silent (no frame, no pong) before it is dead: 2.5 intervals, so one
// lost ping is forgiven.
const deadAfterHalves = 5

// DeadAt is when a connection last heard from at lastHeard is dead, given the
// heartbeat interval.
func DeadAt(lastHeard time.Time, heartbeat time.Duration) time.Time {
	return lastHeard.Add(heartbeat * deadAfterHalves / 2)
}

// IdleAt is when a connection last active at lastActive goes away, given the
// idle limit. A limit of zero or less means never: the zero Time is returned.
func IdleAt(lastActive time.Time, limit time.Duration) time.Time {
	if limit <= 0 {
		return time.Time{}
	}
	return lastActive.Add(limit)
}
