package status

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/presenced/presenced/presence"
)

// MaxNameLen is the longest name, in Unicode characters.
const MaxNameLen = 64

// Custom is an admin-defined status that users can pick: a name tied to a
// presence value, and how long a pick lasts unless the user says. It is
// also the record the store keeps.
type Custom struct {
	ID       string          // uuid
	Name     string          // trimmed, 1..64 characters, unique case-insensitively
	Presence presence.Status // what a holder's manual status becomes
	Duration time.Duration   // default lifetime of a pick, MinDuration..MaxDuration; 0: never ends
}

// ErrName is wrapped by every name validation error.
var ErrName = errors.New("invalid name")

// CleanName trims name and checks it: 1..64 characters, no control
// characters. The error wraps ErrName and says what is wrong.
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return "", fmt.Errorf("%w: not valid UTF-8", ErrName)
	case n == 0:
		return "", fmt.Errorf("%w: name is empty", ErrName)
	case n > MaxNameLen:
		return "", fmt.Errorf("%w: name is %d characters, at most %d allowed", ErrName, n, MaxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", fmt.Errorf("%w: name contains a control character", ErrName)
	}
	return name, nil
}

// Key is the form of a name that uniqueness is judged on: two names with the
// same key are the same name.
func Key(name string) string {
	return strings.ToLower(name)
}
