package status

import (
	"errors"
	"fmt"
	"time"
)

// The range of a status's lifetime, as a duration or as an until: a minute
// to 366 days (31,622,400 s).
const (
	MinDuration = time.Minute
	MaxDuration = 366 * 24 * time.Hour
)

// ErrLifetime is wrapped by every lifetime validation error.
var ErrLifetime = errors.New("invalid lifetime")

// CheckDuration checks a lifetime given as a duration, of a pick or of a
// custom status's default: MinDuration..MaxDuration. The error wraps
// ErrLifetime.
func CheckDuration(d time.Duration) error {
	if d < MinDuration || d > MaxDuration {
		return fmt.Errorf("%w: duration_s must be %d..%d, not %d", ErrLifetime,
			int64(MinDuration/time.Second), int64(MaxDuration/time.Second), int64(d/time.Second))
	}
	return nil
}

// Lifetime is how long a chosen status lasts, as the user asked: until a
// time, for a duration, or (both zero) for as long as the status's default
// says.
type Lifetime struct {
	Until    time.Time
	Duration time.Duration
}

// End returns when a status chosen at now with lifetime l expires, zero for
// never: l.Until; else now + l.Duration; else now + def, the default of the
// custom status picked (zero: none, and for statuses that are not custom).
// The error wraps ErrLifetime and says why l is refused: both set, a
// duration out of range, an until not in the future or more than
// MaxDuration ahead.
func (l Lifetime) End(now time.Time, def time.Duration) (time.Time, error) {
	switch {
	case !l.Until.IsZero() && l.Duration != 0:
		return time.Time{}, fmt.Errorf("%w: give until or duration_s, not both", ErrLifetime)
	case !l.Until.IsZero():
		if !l.Until.After(now) {
			return time.Time{}, fmt.Errorf("%w: until %s is not in the future", ErrLifetime, l.Until.UTC().Format(time.RFC3339))
		}
		if l.Until.After(now.Add(MaxDuration)) {
			return time.Time{}, fmt.Errorf("%w: until %s is more than 366 days ahead", ErrLifetime, l.Until.UTC().Format(time.RFC3339))
		}
		return l.Until, nil
	case l.Duration != 0:
		if err := CheckDuration(l.Duration); err != nil {
			return time.Time{}, err
		}
		return now.Add(l.Duration), nil
	case def > 0:
		return now.Add(def), nil
	}
	return time.Time{}, nil
}
