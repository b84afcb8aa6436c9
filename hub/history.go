package hub

import "time"

// DefaultHistoryLimit is how many transitions history returns when the
// command does not say.
const DefaultHistoryLimit = 20

// historyOf answers history for u: their own, or for an admin anyone's.
func (h *Hub) historyOf(u *user, admin bool, cmd History, now time.Time) (Result, *Error) {
	uid := cmd.User
	if uid == "" {
		uid = u.id
	}
	if uid != u.id && !admin {
		return nil, errorf(CodeForbidden, "only admins may read another user's history")
	}
	limit := cmd.Limit
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	return HistoryResult{Items: h.history.Recent(uid, limit, now)}, nil
}
