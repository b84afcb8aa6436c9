package presence

import "time"

// History bounds: what "why is Alice away?" can look back on.
const (
	// HistoryLen is how many transitions are kept per user.
	HistoryLen = 50
	// HistoryAge is how long a transition is kept.
	HistoryAge = 24 * time.Hour
)

// Transition is one change of a user's effective status.
type Transition struct {
	At       time.Time
	Status   Status
	Previous Status
	Reason   Reason
	Text     string // the status text after the change
}

// record is a Transition as a ring keeps it: 32 bytes rather than 48, the
// time as Unix nanoseconds.
type record struct {
	at       int64
	text     string
	status   Status
	previous Status
	reason   Reason
}

// ring is one user's last HistoryLen transitions, and its place in the
// Histories' recency list.
type ring struct {
	user       string
	items      []record // grows to HistoryLen, then wraps
	next       int      // where the next record goes once items is full
	newer      *ring    // toward the most recently changed user
	older      *ring
	lastChange int64 // at of the newest record
}

// Histories keeps the recent transitions of users in bounded memory: a ring
// of the last HistoryLen per user, for at most a fixed number of users.
// Users are ordered by their latest change: adding past the bound drops the
// user whose latest change is oldest, and users whose latest change is older
// than HistoryAge are dropped as adds go by. So memory is at most
// maxUsers × HistoryLen records whatever the number of users, and much less
// when few change.
//
// It is a plain data structure, not safe for concurrent use: the hub
// goroutine owns it.
type Histories struct {
	max    int
	byUser map[string]*ring
	newest *ring
	oldest *ring
}

// NewHistories returns empty histories for at most maxUsers users (at least
// one).
func NewHistories(maxUsers int) *Histories {
	return &Histories{max: max(maxUsers, 1), byUser: make(map[string]*ring)}
}

// Len is the number of users with a history.
func (h *Histories) Len() int { return len(h.byUser) }

// Add records t as user's latest transition. Transitions are added in time
// order.
func (h *Histories) Add(user string, t Transition) {
	r := h.byUser[user]
	if r == nil {
		r = &ring{user: user}
		h.byUser[user] = r
	} else {
		h.unlink(r)
	}
	rec := record{at: t.At.UnixNano(), text: t.Text, status: t.Status, previous: t.Previous, reason: t.Reason}
	switch {
	case len(r.items) < HistoryLen:
		if len(r.items) == cap(r.items) {
			// Grow by doubling up to HistoryLen exactly, not past it as
			// append would: most users change a few times a day.
			grown := make([]record, len(r.items), min(HistoryLen, max(4, 2*cap(r.items))))
			copy(grown, r.items)
			r.items = grown
		}
		r.items = append(r.items, rec)
	default:
		r.items[r.next] = rec
		r.next = (r.next + 1) % HistoryLen
	}
	r.lastChange = rec.at
	h.pushNewest(r)
	h.prune(t.At)
}

// prune drops the users whose latest change is older than HistoryAge at
// now, and the least recently changed beyond the bound.
func (h *Histories) prune(now time.Time) {
	cutoff := now.Add(-HistoryAge).UnixNano()
	for h.oldest != nil && (len(h.byUser) > h.max || h.oldest.lastChange < cutoff) {
		r := h.oldest
		h.unlink(r)
		delete(h.byUser, r.user)
	}
}

// Recent returns up to limit of user's transitions newer than HistoryAge at
// now, newest first.
func (h *Histories) Recent(user string, limit int, now time.Time) []Transition {
	r := h.byUser[user]
	out := []Transition{}
	if r == nil {
		return out
	}
	cutoff := now.Add(-HistoryAge).UnixNano()
	n := len(r.items)
	for i := range min(limit, n) {
		// The newest is just before next once the ring wraps, else last.
		rec := r.items[(r.next-1-i+2*n)%n]
		if rec.at < cutoff {
			break
		}
		out = append(out, Transition{At: time.Unix(0, rec.at).UTC(), Status: rec.status,
			Previous: rec.previous, Reason: rec.reason, Text: rec.text})
	}
	return out
}

func (h *Histories) unlink(r *ring) {
	if r.newer != nil {
		r.newer.older = r.older
	} else {
		h.newest = r.older
	}
	if r.older != nil {
		r.older.newer = r.newer
	} else {
		h.oldest = r.newer
	}
	r.newer, r.older = nil, nil
}

func (h *Histories) pushNewest(r *ring) {
	r.older = h.newest
	if h.newest != nil {
		h.newest.newer = r
	}
	h.newest = r
	if h.oldest == nil {
		h.oldest = r
	}
}
