package webhook

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/presenced/presenced/presence"
)

// PresenceChange is one change of a user's effective status, status text,
// custom status or expiry, as the hub reports it after the reconnect grace.
type PresenceChange struct {
	User     string
	Status   presence.Status
	Previous presence.Status
	Text     string
	Custom   string    // custom status id; "": none
	Until    time.Time // when the manual status expires; zero: never
	Reason   string    // the protocol's reason (connect, idle, manual, ...); "": none
	At       time.Time
}

// ServiceChange is the presence service turning on or off.
type ServiceChange struct {
	Enabled bool
	Reason  string // connection_limit or admin while disabled; "" when enabled
	At      time.Time
}

// Catalog operations of a StatusesChange.
const (
	OpCreated = "created"
	OpUpdated = "updated"
	OpDeleted = "deleted"
)

// StatusesChange is an admin's change to the custom status catalog.
type StatusesChange struct {
	Op     string // OpCreated, OpUpdated or OpDeleted
	Status CustomStatus
	At     time.Time
}

// CustomStatus is a custom status as a webhook event shows it.
type CustomStatus struct {
	ID       string
	Name     string
	Presence presence.Status
	Duration time.Duration // default lifetime when picked; 0: never expires
}

// Event types, each also the type of a batch.
const (
	TypePresence = "presence.changed"
	TypeService  = "service.changed"
	TypeStatuses = "statuses.changed"
)

// event is one queued change. Presence changes, nearly all of them, are
// held by value; the rare others behind other.
type event struct {
	id     uint64    // per process; the wire id adds the sender's prefix
	seq    uint64    // presence: the user's change number
	queued time.Time // when it entered the queue
	p      PresenceChange
	other  any // ServiceChange or StatusesChange; nil for a presence change
}

func (e *event) kind() string {
	switch e.other.(type) {
	case ServiceChange:
		return TypeService
	case StatusesChange:
		return TypeStatuses
	}
	return TypePresence
}

// The JSON of each event type, in the protocol's field order.
type (
	presenceJSON struct {
		Type     string  `json:"type"`
		ID       string  `json:"id"`
		User     string  `json:"user"`
		Status   string  `json:"status"`
		Previous string  `json:"previous"`
		Text     string  `json:"text"`
		Custom   *string `json:"custom"`
		Until    *string `json:"until"`
		Reason   *string `json:"reason"`
		At       string  `json:"at"`
		Seq      uint64  `json:"seq"`
	}
	serviceJSON struct {
		Type   string  `json:"type"`
		ID     string  `json:"id"`
		State  string  `json:"state"`
		Reason *string `json:"reason"`
		At     string  `json:"at"`
	}
	statusesJSON struct {
		Type   string     `json:"type"`
		ID     string     `json:"id"`
		Op     string     `json:"op"`
		Status statusJSON `json:"status"`
		At     string     `json:"at"`
	}
	statusJSON struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Presence  string `json:"presence"`
		DurationS *int64 `json:"duration_s"`
	}
)

// encodeBatch is the body of a batch: its type (presence.changed if it
// carries a presence change, else its first event's type) and its events,
// whose ids are prefix and their number.
func encodeBatch(prefix string, events []event) []byte {
	typ := events[0].kind()
	for i := range events {
		if events[i].other == nil {
			typ = TypePresence
			break
		}
	}
	body := make([]byte, 0, 64+len(events)*256)
	body = append(body, `{"type":`...)
	body = strconv.AppendQuote(body, typ)
	body = append(body, `,"events":[`...)
	for i := range events {
		if i > 0 {
			body = append(body, ',')
		}
		b, _ := json.Marshal(events[i].json(prefix)) // strings and numbers: cannot fail
		body = append(body, b...)
	}
	return append(body, "]}"...)
}

func (e *event) json(prefix string) any {
	id := prefix + strconv.FormatUint(e.id, 10)
	switch c := e.other.(type) {
	case ServiceChange:
		state := "enabled"
		if !c.Enabled {
			state = "disabled"
		}
		return serviceJSON{Type: TypeService, ID: id, State: state, Reason: nullable(c.Reason), At: timeText(c.At)}
	case StatusesChange:
		s := statusJSON{ID: c.Status.ID, Name: c.Status.Name, Presence: c.Status.Presence.String()}
		if c.Status.Duration > 0 {
			d := int64(c.Status.Duration / time.Second)
			s.DurationS = &d
		}
		return statusesJSON{Type: TypeStatuses, ID: id, Op: c.Op, Status: s, At: timeText(c.At)}
	}
	p := &e.p
	j := presenceJSON{Type: TypePresence, ID: id, User: p.User, Status: p.Status.String(),
		Previous: p.Previous.String(), Text: p.Text, Custom: nullable(p.Custom),
		Reason: nullable(p.Reason), At: timeText(p.At), Seq: e.seq}
	if !p.Until.IsZero() {
		u := timeText(p.Until)
		j.Until = &u
	}
	return j
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// timeText is t in RFC 3339 with as many fractional digits as it has, as the
// socket protocol writes times.
func timeText(t time.Time) string { return t.Format(time.RFC3339Nano) }
