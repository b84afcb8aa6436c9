package hub

import "time"

// DefaultHistoryLimit is how many transitions history returns when the
// command does not say.
const DefaultHistoryLimit = 20

// historyOf answers history: the user's own, or as an admin anyone's.
func (h *Hub) historyOf(c *conn, cmd History, now time.Time) (Result, *Error) {
	uid := cmd.User
	if uid == "" {
		uid = c.user.id
	}
	if uid != c.user.id && !c.admin {
		return nil, errorf(CodeForbidden, "only admins may read another user's history")
	}
	limit := cmd.Limit
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	return HistoryResult{Items: h.history.Recent(uid, limit, now)}, nil
}
