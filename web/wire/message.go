package wire

import (
	"encoding/json"
)

// Frame types, server to client.
const (
	TypeWelcome  = "welcome"
	TypePong     = "pong"
	TypeResult   = "result"
	TypeError    = "error"
	TypePresence = "presence"
	TypeService  = "service"
	TypeStatuses = "statuses"
	TypeNotice   = "notice"
)

// StatusDisabled is how every status reads while the service is disabled.
const StatusDisabled = "disabled"

// User is the signed-in user, as told in welcome.
type User struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Admin bool   `json:"admin"`
}

// Service is the presence service's state, in welcome, admin results and
// service events.
type Service struct {
	State       string  `json:"state"`  // "enabled" or "disabled"
	Reason      *string `json:"reason"` // null, "connection_limit" or "admin"
	Connections int     `json:"connections"`
	Limit       *int    `json:"limit"` // null on the enterprise edition
	Edition     string  `json:"edition"`
}

// Self is the signed-in user's own status.
type Self struct {
	Status string  `json:"status"` // effective status, or "disabled"
	Manual string  `json:"manual"`
	Text   string  `json:"text"`
	Custom *string `json:"custom"`
	Until  *Time   `json:"until"`  // when the chosen status expires; null: never
	Reason *string `json:"reason"` // why the status last changed; null: never seen
}

// CustomStatus is an admin-defined status.
type CustomStatus struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Presence  string `json:"presence"`
	DurationS *int   `json:"duration_s"` // default lifetime of a pick; null: never ends
}

// Entry is one user's presence, in presence events and snapshots.
// AppendEntry writes it by hand, field for field in this order.
type Entry struct {
	ID       string  `json:"id"`
	Status   string  `json:"status"`
	Text     string  `json:"text"`
	Custom   *string `json:"custom"`
	Since    *Time   `json:"since"`
	LastSeen *Time   `json:"last_seen"`
	Until    *Time   `json:"until"`  // when the chosen status expires; null: never
	Reason   *string `json:"reason"` // why the status last changed; null: never seen
}

// HistoryItem is one change of a user's effective status.
type HistoryItem struct {
	At       Time   `json:"at"`
	Status   string `json:"status"`
	Previous string `json:"previous"`
	Text     string `json:"text"`
	Reason   string `json:"reason"`
}

// Welcome answers a good hello.
type Welcome struct {
	Type        string         `json:"type"`
	ID          string         `json:"id,omitempty"`
	Session     string         `json:"session"`
	User        User           `json:"user"`
	Service     Service        `json:"service"`
	Self        Self           `json:"self"`
	Statuses    []CustomStatus `json:"statuses"`
	HeartbeatMS int64          `json:"heartbeat_ms"`
	IdleLimitMS int64          `json:"idle_limit_ms"`
}

// Pong answers ping.
type Pong struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

// ErrorFrame answers a command that failed.
type ErrorFrame struct {
	Type    string `json:"type"`
	ID      string `json:"id,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Result answers a command that succeeded. The fields a command has to say
// are set; the rest are left out.
type Result struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	OK   bool   `json:"ok"`

	Users    *[]Entry      `json:"users,omitempty"`    // subscribe, query
	Self     *Self         `json:"self,omitempty"`     // set_status, set_custom_status, set_prefs
	Prefs    *Prefs        `json:"prefs,omitempty"`    // set_prefs
	Status   *CustomStatus `json:"status,omitempty"`   // admin.statuses.create, update, delete
	Items    any           `json:"items,omitempty"`    // *[]CustomStatus (admin.statuses.list) or *[]HistoryItem (history)
	Total    *int          `json:"total,omitempty"`    // admin.statuses.list
	Service  *Service      `json:"service,omitempty"`  // admin.service, admin.stats
	Settings *Settings     `json:"settings,omitempty"` // admin.settings
	Expires  *Time         `json:"expires,omitempty"`  // refresh: when the session now ends
	*Stats
}

// Prefs are a user's own idle preferences.
type Prefs struct {
	IdleLimitS int  `json:"idle_limit_s"` // 0: the workspace default
	AutoAway   bool `json:"auto_away"`
}

// Settings are the workspace settings.
type Settings struct {
	IdleLimitS int `json:"idle_limit_s"`
}

// Stats is the body of the admin.stats result.
type Stats struct {
	Connections  int    `json:"connections"`
	Peak         int    `json:"peak"`
	UsersOnline  int    `json:"users_online"`
	Limit        *int   `json:"limit"`
	Edition      string `json:"edition"`
	ServiceSince *Time  `json:"service_since"`
}

// Presence carries the latest state of users that changed.
type Presence struct {
	Type  string  `json:"type"`
	Users []Entry `json:"users"`
}

// ServiceEvent tells every connection that the service changed state.
type ServiceEvent struct {
	Type        string  `json:"type"`
	State       string  `json:"state"`
	Reason      *string `json:"reason"`
	Connections int     `json:"connections"`
	Limit       *int    `json:"limit"`
}

// StatusesEvent tells every connection that the custom status catalog changed.
type StatusesEvent struct {
	Type   string       `json:"type"`
	Op     string       `json:"op"` // "created", "updated" or "deleted"
	Status CustomStatus `json:"status"`
}

// Notice tells admins something they should act on.
type Notice struct {
	Type        string `json:"type"`
	Level       string `json:"level"` // "info", "warning" or "critical"
	Code        string `json:"code"`  // e.g. "connection_limit", "limit_80", "limit_95", "ready_to_enable"
	Message     string `json:"message"`
	Connections int    `json:"connections"`
	Limit       *int   `json:"limit"`
}

// Frame is any server frame: the union of their fields, for clients to
// decode into.
type Frame struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	OK      bool   `json:"ok"`
	Code    string `json:"code"`
	Message string `json:"message"`

	Session     string         `json:"session"`
	User        User           `json:"user"`
	Service     *Service       `json:"service"`
	Self        *Self          `json:"self"`
	Statuses    []CustomStatus `json:"statuses"`
	HeartbeatMS int64          `json:"heartbeat_ms"`
	IdleLimitMS int64          `json:"idle_limit_ms"`

	Users    []Entry        `json:"users"`
	Prefs    *Prefs         `json:"prefs"`
	Status   *CustomStatus  `json:"status"`
	Items    []CustomStatus `json:"items"`
	History  []HistoryItem  `json:"-"` // the items of a history result
	Total    int            `json:"total"`
	Settings *Settings      `json:"settings"`
	Expires  *Time          `json:"expires"`

	Connections  int    `json:"connections"`
	Peak         int    `json:"peak"`
	UsersOnline  int    `json:"users_online"`
	Limit        *int   `json:"limit"`
	Edition      string `json:"edition"`
	ServiceSince *Time  `json:"service_since"`

	State  string  `json:"state"`
	Reason *string `json:"reason"`
	Op     string  `json:"op"`
	Level  string  `json:"level"`
}

// DecodeFrame parses one server frame. The items of a result are read both
// as custom statuses and as history items (History): a result does not say
// which command it answers.
func DecodeFrame(b []byte) (Frame, error) {
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil {
		return f, err
	}
	if f.Type == TypeResult && f.Items != nil {
		var h struct {
			Items []HistoryItem `json:"items"`
		}
		if err := json.Unmarshal(b, &h); err != nil {
			return f, err
		}
		f.History = h.Items
	}
	return f, nil
}

// Encode marshals a server frame. Frames are plain structs of strings,
// numbers and times, so it cannot fail; it panics if it does.
func Encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("wire: encode: " + err.Error())
	}
	return b
}
