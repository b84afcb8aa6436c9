package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Protocol limits.
const (
	Subprotocol  = "presence.v1"
	MaxFrame     = 64 << 10 // bytes in one frame; more closes with 1009
	MaxIDLen     = 64       // characters in a command id or custom status id
	MaxUserIDLen = 128      // characters in a user id
	MaxUsers     = 1000     // user ids in one command
	MaxTextLen   = 120      // characters in a status text
	MinIdleS     = 60       // seconds, smallest idle_limit_s
	MaxIdleS     = 86400    // seconds, largest idle_limit_s
	MaxPageLimit = 100      // largest admin.statuses.list and history limit
	DefPageLimit = 50       // admin.statuses.list limit when none is given
	DefHistory   = 20       // history limit when none is given
	MinDurationS = 60       // seconds, shortest duration_s
	MaxDurationS = 31622400 // seconds, longest duration_s: 366 days
)

// Command types, client to server.
const (
	TypeHello           = "hello"
	TypePing            = "ping"
	TypeActivity        = "activity"
	TypeIdle            = "idle"
	TypeSetStatus       = "set_status"
	TypeSetCustomStatus = "set_custom_status"
	TypeSetPrefs        = "set_prefs"
	TypeSubscribe       = "subscribe"
	TypeUnsubscribe     = "unsubscribe"
	TypeQuery           = "query"
	TypeAdminStats      = "admin.stats"
	TypeAdminService    = "admin.service"
	TypeAdminList       = "admin.statuses.list"
	TypeAdminCreate     = "admin.statuses.create"
	TypeAdminUpdate     = "admin.statuses.update"
	TypeAdminDelete     = "admin.statuses.delete"
	TypeAdminSettings   = "admin.settings"
	TypeBye             = "bye"
	TypeHistory         = "history"
	TypeRefresh         = "refresh" // wave 2: a newer token for the same session
)

// Command is any client frame: the union of every command's fields. Decode
// checks that the fields a type needs are present and well formed.
type Command struct {
	Type   string `json:"type"`
	ID     string `json:"id,omitempty"`
	Token  string `json:"token,omitempty"`
	Client string `json:"client,omitempty"`

	Status     string  `json:"status,omitempty"`
	Text       *string `json:"text,omitempty"`
	Custom     string  `json:"custom,omitempty"`
	IdleLimitS *int    `json:"idle_limit_s,omitempty"`
	AutoAway   *bool   `json:"auto_away,omitempty"`
	// Until (RFC 3339) or DurationS says when a chosen status ends;
	// DurationS is also a custom status's default lifetime. Decode checks
	// the form and the range of a duration; whether an until is in the
	// future is the hub's to judge, against its clock.
	Until     *string `json:"until,omitempty"`
	DurationS *int    `json:"duration_s,omitempty"`
	User      string  `json:"user,omitempty"` // history: whose (default: yourself)

	Users []string `json:"users,omitempty"`
	All   bool     `json:"all,omitempty"`

	Enabled  *bool  `json:"enabled,omitempty"`
	Name     string `json:"name,omitempty"`
	Presence string `json:"presence,omitempty"`
	Query    string `json:"query,omitempty"`
	Offset   int    `json:"offset,omitempty"`
	Limit    *int   `json:"limit,omitempty"` // nil: omitted, DefPageLimit after Decode

	ResetPeak bool `json:"reset_peak,omitempty"` // admin.stats: reset the recorded peak first
}

// Decode parses one client frame. A frame that is not a JSON object, has an
// unknown type or fields of the wrong shape returns an *Error with code
// bad_request; the returned Command still carries the id when it could be
// read, so the error can echo it.
func Decode(frame []byte) (Command, error) {
	var c Command
	dec := json.NewDecoder(bytes.NewReader(frame))
	if err := dec.Decode(&c); err != nil {
		c = Command{ID: salvageID(frame)}
		return c, Errorf(CodeBadRequest, "malformed frame: %s", jsonProblem(err))
	}
	if dec.More() {
		return c, Errorf(CodeBadRequest, "malformed frame: one JSON object per frame")
	}
	if utf8.RuneCountInString(c.ID) > MaxIDLen {
		c.ID = ""
		return c, Errorf(CodeBadRequest, "id is longer than %d characters", MaxIDLen)
	}
	return c, c.validate()
}

// salvageID reads just the id of a frame that failed to decode as a whole.
func salvageID(frame []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(frame, &v) != nil || utf8.RuneCountInString(v.ID) > MaxIDLen {
		return ""
	}
	return v.ID
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("field %q must be a %s", te.Field, jsonKind(te.Type.Kind().String()))
	}
	return err.Error()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice":
		return "array"
	case "bool":
		return "boolean"
	case "int", "int64", "float64":
		return "number"
	case "ptr":
		return "value of another type"
	}
	return goKind
}

func (c *Command) validate() error {
	switch c.Type {
	case "":
		return Errorf(CodeBadRequest, "frame has no type")
	case TypeHello:
		if c.Token == "" {
			return Errorf(CodeBadRequest, "hello needs a token")
		}
	case TypeRefresh:
		if c.Token == "" {
			return Errorf(CodeBadRequest, "refresh needs a token")
		}
	case TypePing, TypeActivity, TypeIdle, TypeAdminStats, TypeBye:
	case TypeSetStatus:
		if _, ok := parsePresence(c.Status); !ok {
			return Errorf(CodeBadRequest, "status must be one of online, away, busy, offline")
		}
		if c.Text != nil {
			t := strings.TrimSpace(*c.Text)
			c.Text = &t
			if n := utf8.RuneCountInString(t); n > MaxTextLen {
				return Errorf(CodeBadRequest, "text is %d characters, at most %d allowed", n, MaxTextLen)
			}
		}
		return c.checkLifetime()
	case TypeSetCustomStatus:
		if err := checkCustomID(c.Custom); err != nil {
			return err
		}
		return c.checkLifetime()
	case TypeHistory:
		if c.User != "" {
			if err := CheckUserID(c.User); err != nil {
				return err
			}
		}
		return c.checkLimit(DefHistory)
	case TypeSetPrefs:
		if c.IdleLimitS == nil && c.AutoAway == nil {
			return Errorf(CodeBadRequest, "set_prefs needs idle_limit_s or auto_away")
		}
		if c.IdleLimitS != nil {
			return checkIdle(*c.IdleLimitS)
		}
	case TypeSubscribe, TypeUnsubscribe:
		if c.All {
			if len(c.Users) > 0 {
				return Errorf(CodeBadRequest, "give users or all, not both")
			}
			return nil
		}
		return checkUsers(c.Users)
	case TypeQuery:
		return checkUsers(c.Users)
	case TypeAdminService:
		if c.Enabled == nil {
			return Errorf(CodeBadRequest, "admin.service needs enabled (true or false)")
		}
	case TypeAdminList:
		if c.Offset < 0 {
			return Errorf(CodeBadRequest, "offset must not be negative")
		}
		return c.checkLimit(DefPageLimit)
	case TypeAdminCreate:
		if err := checkPresence(c.Presence); err != nil {
			return err
		}
		return checkDuration(c.DurationS)
	case TypeAdminUpdate:
		if err := checkCustomID(c.Custom); err != nil {
			return err
		}
		if err := checkPresence(c.Presence); err != nil {
			return err
		}
		return checkDuration(c.DurationS)
	case TypeAdminDelete:
		return checkCustomID(c.Custom)
	case TypeAdminSettings:
		if c.IdleLimitS == nil {
			return Errorf(CodeBadRequest, "admin.settings needs idle_limit_s")
		}
		return checkIdle(*c.IdleLimitS)
	default:
		return Errorf(CodeBadRequest, "unknown command type %q", truncate(c.Type, 40))
	}
	return nil
}

// checkLimit fills in the default limit, or checks the one given.
func (c *Command) checkLimit(def int) error {
	if c.Limit == nil {
		c.Limit = &def
		return nil
	}
	if *c.Limit < 1 || *c.Limit > MaxPageLimit {
		return Errorf(CodeBadRequest, "limit must be 1..%d", MaxPageLimit)
	}
	return nil
}

// checkLifetime checks the until or duration_s of a status a user picks.
func (c *Command) checkLifetime() error {
	if c.Until != nil && c.DurationS != nil {
		return Errorf(CodeBadRequest, "give until or duration_s, not both")
	}
	if c.Until != nil {
		if _, err := time.Parse(time.RFC3339, *c.Until); err != nil {
			return Errorf(CodeBadRequest, "until must be an RFC 3339 time such as 2026-05-01T15:30:00Z, not %q", truncate(*c.Until, 40))
		}
	}
	return checkDuration(c.DurationS)
}

// UntilTime is the until of the command, the zero Time when it has none. The
// command has passed Decode.
func (c *Command) UntilTime() time.Time {
	if c.Until == nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339, *c.Until)
	return t
}

func checkDuration(s *int) error {
	if s != nil && (*s < MinDurationS || *s > MaxDurationS) {
		return Errorf(CodeBadRequest, "duration_s must be %d..%d (a minute to 366 days)", MinDurationS, MaxDurationS)
	}
	return nil
}

func parsePresence(s string) (string, bool) {
	switch s {
	case "online", "away", "busy", "offline":
		return s, true
	}
	return "", false
}

func checkPresence(s string) error {
	if _, ok := parsePresence(s); !ok {
		return Errorf(CodeBadRequest, "presence must be one of online, away, busy, offline")
	}
	return nil
}

func checkCustomID(id string) error {
	if id == "" {
		return Errorf(CodeBadRequest, "custom (a custom status id) is required")
	}
	if utf8.RuneCountInString(id) > MaxIDLen {
		return Errorf(CodeBadRequest, "custom is longer than %d characters", MaxIDLen)
	}
	return nil
}

func checkIdle(s int) error {
	if s < MinIdleS || s > MaxIdleS {
		return Errorf(CodeBadRequest, "idle_limit_s must be %d..%d", MinIdleS, MaxIdleS)
	}
	return nil
}

func checkUsers(users []string) error {
	if len(users) == 0 {
		return Errorf(CodeBadRequest, "users must list at least one user id")
	}
	if len(users) > MaxUsers {
		return Errorf(CodeBadRequest, "%d users in one command, at most %d allowed", len(users), MaxUsers)
	}
	for _, u := range users {
		if err := CheckUserID(u); err != nil {
			return err
		}
	}
	return nil
}

// CheckUserID reports whether id is a valid user id: 1..128 characters.
func CheckUserID(id string) error {
	if id == "" {
		return Errorf(CodeBadRequest, "empty user id")
	}
	if utf8.RuneCountInString(id) > MaxUserIDLen {
		return Errorf(CodeBadRequest, "user id %q… is longer than %d characters", truncate(id, 16), MaxUserIDLen)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
