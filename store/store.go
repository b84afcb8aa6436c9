package store

import (
	"context"
	"errors"
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
)

// Errors a Store returns, to be tested with errors.Is.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a custom status with the same name (case-insensitively)
	// already exists.
	ErrConflict = errors.New("name already taken")
)

// User is the durable part of one user's state. The zero value is not a
// default user: use NewUser.
type User struct {
	ID        string
	Manual    presence.Status // Online means "automatic"
	Text      string          // status text, at most 120 characters
	Custom    string          // id of the custom status the text came from, or ""
	IdleLimit time.Duration   // the user's own idle limit; 0: the workspace default
	AutoAway  bool            // whether idleness turns the user away at all
	LastSeen  time.Time       // when the user's last connection ended; zero: never
	Until     time.Time       // when Manual, Text and Custom expire; zero: never
}

// NewUser returns the state of a user who has never chosen anything.
func NewUser(id string) User {
	return User{ID: id, Manual: presence.Online, AutoAway: true}
}

// Service is the state of the presence service switch.
type Service struct {
	Enabled bool
	Reason  string    // why it is disabled: "connection_limit" or "admin"; "" when enabled
	Since   time.Time // when it last changed; zero: never
}

// Settings are the workspace-wide settings an admin can change.
type Settings struct {
	IdleLimit time.Duration // default idle limit; 0: the server's configured default
}

// Store is durable workspace state. Methods return ErrNotFound and
// ErrConflict (possibly wrapped) as documented, and any other error when the
// backend cannot be reached or fails.
type Store interface {
	// CustomStatuses returns every custom status, in no particular order.
	CustomStatuses(ctx context.Context) ([]status.Custom, error)
	// CreateCustomStatus adds cs. It returns ErrConflict, atomically, if a
	// status with the same name in any letter case exists.
	CreateCustomStatus(ctx context.Context, cs status.Custom) error
	// UpdateCustomStatus replaces the status with cs.ID. It returns
	// ErrNotFound if there is none and ErrConflict if another status holds
	// the new name.
	UpdateCustomStatus(ctx context.Context, cs status.Custom) error
	// DeleteCustomStatus removes the status with this id, or returns
	// ErrNotFound.
	DeleteCustomStatus(ctx context.Context, id string) error

	// Users returns every stored user, in no particular order.
	Users(ctx context.Context) ([]User, error)
	// User returns the stored user with this id, or ErrNotFound.
	User(ctx context.Context, id string) (User, error)
	// PutUser stores u, replacing any earlier state of u.ID.
	PutUser(ctx context.Context, u User) error
	// PutUsers stores every user of us as PutUser would, in one round
	// trip (one transaction, one pipeline): the hub's writer saves the
	// changes that arrive together at once. Ids are distinct. On error
	// some may be stored and others not; writing them again is safe.
	PutUsers(ctx context.Context, us []User) error

	// Service returns the service state; a store that has never been
	// written returns Service{Enabled: true}.
	Service(ctx context.Context) (Service, error)
	// PutService stores the service state.
	PutService(ctx context.Context, s Service) error

	// Peak returns the highest connection count recorded, 0 if none.
	Peak(ctx context.Context) (int, error)
	// RaisePeak records n if it is higher than the recorded peak, atomically,
	// and returns the peak after the call.
	RaisePeak(ctx context.Context, n int) (int, error)
	// ResetPeak sets the peak to n whatever it was.
	ResetPeak(ctx context.Context, n int) error

	// Settings returns the workspace settings; zero values when never written.
	Settings(ctx context.Context) (Settings, error)
	// PutSettings stores the workspace settings.
	PutSettings(ctx context.Context, s Settings) error

	// Ping reports whether the backend is reachable, for readiness checks.
	Ping(ctx context.Context) error
	// Close releases the backend. Calls after Close fail.
	Close() error
}
