package hub

import (
	"context"
	"errors"
	"fmt"
	"github.com/presenced/presenced/store"
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
)

// ConnID names a connection for the life of the process.
type ConnID uint64

// Sink is one connection as the hub sees it: where its answers and events go.
// The hub calls these methods from its goroutine; they must not block.
type Sink interface {
	// Presence queues the latest state of one user. Queued states of the
	// same user coalesce: only the latest is sent.
	Presence(e Entry)
	// Send queues a message (a reply or an event) behind earlier ones.
	Send(m Message)
	// Close asks the connection to close with reason. The connection
	// answers with Disconnect once it has.
	Close(r CloseReason)
}

// CloseReason says why the hub closes a connection.
type CloseReason int

// Close reasons.
const (
	CloseTooManyConns CloseReason = iota + 1 // the user has too many connections
	CloseShutdown                            // the hub is stopping
	CloseBye                                 // the client said bye; after the reply
	CloseSignedOut                           // the user was signed out (SignOut)
)

// Entry is one user's presence as a subscriber sees it.
type Entry struct {
	User     string
	Status   presence.Status
	Disabled bool // the service is disabled: the status reads "disabled"
	Text     string
	Custom   string          // custom status id, or ""
	Until    time.Time       // when the chosen status expires; zero: never
	Reason   presence.Reason // why what others see last changed; NoReason: never seen
	Since    time.Time       // when Status last changed; zero: never seen
	LastSeen time.Time       // when the user was last seen connected; zero: never
}

// Self is a user's own status, as told to that user.
type Self struct {
	Status   presence.Status // effective
	Disabled bool
	Manual   presence.Status
	Text     string
	Custom   string
	Until    time.Time
	Reason   presence.Reason
}

// Service is the presence service's state.
type Service struct {
	Enabled     bool
	Reason      string // ReasonConnectionLimit, ReasonAdmin, or "" when enabled
	Since       time.Time
	Connections int
	Limit       int // 0: no limit (enterprise)
	Edition     Edition
}

// Reasons the service is disabled.
const (
	ReasonConnectionLimit = "connection_limit"
	ReasonAdmin           = "admin"
)

// Message is something the hub sends a connection through Sink.Send: one of
// *Welcome, *Reply, *ServiceChanged, *StatusesChanged, *Notice.
type Message interface{ message() }

// Welcome answers a connection that the hub registered.
type Welcome struct {
	RequestID string
	Service   Service
	Self      Self
	Statuses  []status.Custom
	IdleLimit time.Duration // the user's effective idle limit
}

// Reply answers one command: Err is set when it failed, else Result holds
// what the command returns, or nil.
type Reply struct {
	RequestID string
	Err       *Error
	Result    Result
}

// Result is what a command that succeeded returns: one of the types below,
// and no other, since its method is unexported.
type Result interface{ result() }

// The results.
type (
	// Entries answers subscribe and query.
	Entries []Entry
	// SelfResult answers set_status and set_custom_status.
	SelfResult struct{ Self Self }
	// PrefsResult answers set_prefs.
	PrefsResult struct {
		Self      Self
		IdleLimit time.Duration // 0: the workspace default
		AutoAway  bool
	}
	// StatusResult answers admin status create, update and delete.
	StatusResult struct{ Status status.Custom }
	// StatusPage answers admin status list.
	StatusPage struct {
		Items []status.Custom
		Total int
	}
	// ServiceResult answers admin.service.
	ServiceResult struct{ Service Service }
	// Stats answers admin.stats.
	Stats struct {
		Service     Service
		Peak        int
		UsersOnline int
	}
	// SettingsResult answers admin.settings.
	SettingsResult struct{ IdleLimit time.Duration }
	// HistoryResult answers history: transitions, newest first.
	HistoryResult struct{ Items []presence.Transition }
)

func (Entries) result()        {}
func (SelfResult) result()     {}
func (PrefsResult) result()    {}
func (StatusResult) result()   {}
func (StatusPage) result()     {}
func (ServiceResult) result()  {}
func (Stats) result()          {}
func (SettingsResult) result() {}
func (HistoryResult) result()  {}

// ServiceChanged tells every connection that the service changed state.
type ServiceChanged struct{ Service Service }

// StatusesChanged tells every connection that the catalog changed.
type StatusesChanged struct {
	Op     CatalogOp
	Status status.Custom
}

// CatalogOp is what happened to a custom status.
type CatalogOp string

// Catalog ops, as the protocol names them.
const (
	OpCreated CatalogOp = "created"
	OpUpdated CatalogOp = "updated"
	OpDeleted CatalogOp = "deleted"
)

// Notice tells admins something they should act on.
type Notice struct {
	Level       NoticeLevel
	Code        string
	Message     string
	Connections int // the workspace's; for user_connection_limit, the user's
	Limit       int // the workspace's; for user_connection_limit, the user's cap
}

// NoticeLevel is how urgent a notice is.
type NoticeLevel string

// Notice levels, as the protocol names them.
const (
	LevelInfo     NoticeLevel = "info"     // nothing to do now
	LevelWarning  NoticeLevel = "warning"  // act before the service trips
	LevelCritical NoticeLevel = "critical" // the service tripped
)

func (*Welcome) message()         {}
func (*Reply) message()           {}
func (*ServiceChanged) message()  {}
func (*StatusesChanged) message() {}
func (*Notice) message()          {}

// Error is why a command failed: a protocol error code and a sentence.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Error codes, as in the protocol.
const (
	CodeBadRequest  = "bad_request"
	CodeForbidden   = "forbidden"
	CodeNotFound    = "not_found"
	CodeConflict    = "conflict"
	CodeOverLimit   = "over_limit"
	CodeUnavailable = "unavailable"
	CodeInternal    = "internal"
)

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// isDataError reports whether err is about the data (not found, conflict,
// a refusal the hub made), which says nothing of the store's health.
func isDataError(err error) bool {
	var e *Error
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.As(err, &e)
}

func ctxEnded(err error) bool {
	return errors.Is(err, context.Canceled)
}
