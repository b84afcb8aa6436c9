package hub

import (
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
)

// Command is a request a connection makes of the hub: one of the types
// below. Fields are already checked for shape by the caller (the wire
// decoder); the hub checks meaning (roles, existence, limits).
type Command interface{ command() }

// The commands. Ids and names are as the client sent them.
type (
	// Activity: the connection is in use; it is online again.
	Activity struct{}
	// Idle: the connection is idle; it is away now.
	Idle struct{}
	// SetStatus sets the manual status and text, and clears the custom id.
	// Lifetime says when it ends (the zero value: never).
	SetStatus struct {
		Manual   presence.Status
		Text     string
		Lifetime status.Lifetime
	}
	// SetCustomStatus picks a custom status. Lifetime says when it ends
	// (the zero value: after the status's default duration, if any).
	SetCustomStatus struct {
		Custom   string
		Lifetime status.Lifetime
	}
	// Bye ends the connection at once, without the reconnect grace.
	Bye struct{}
	// SignOut ends every connection of the user, on every node, without
	// the grace (close CloseSignedOut): they read offline at once. It is
	// the HTTP API's bye.
	SignOut struct{}
	// History asks for a user's recent transitions, newest first: User's
	// ("": the connection's own; another user's needs the admin role), at
	// most Limit (0: DefaultHistoryLimit).
	History struct {
		User  string
		Limit int
	}
	// SetPrefs changes the user's own idle preferences; nil leaves a field.
	SetPrefs struct {
		IdleLimit *time.Duration
		AutoAway  *bool
	}
	// Subscribe to users' presence, or to everyone's with All.
	Subscribe struct {
		Users []string
		All   bool
	}
	// Unsubscribe from users, or from everything with All.
	Unsubscribe struct {
		Users []string
		All   bool
	}
	// Query users' presence once.
	Query struct{ Users []string }
	// AdminStats asks for the workspace's figures; ResetPeak first sets
	// the recorded peak to the current count.
	AdminStats struct{ ResetPeak bool }
	// AdminService turns the presence service on or off.
	AdminService struct{ Enabled bool }
	// ListStatuses pages through the custom statuses whose name contains
	// Query.
	ListStatuses struct {
		Query         string
		Offset, Limit int
	}
	// CreateStatus adds a custom status; Duration is the default lifetime
	// of a pick (0: none).
	CreateStatus struct {
		Name     string
		Presence presence.Status
		Duration time.Duration
	}
	// UpdateStatus renames or re-ties a custom status, and replaces its
	// default duration.
	UpdateStatus struct {
		ID       string
		Name     string
		Presence presence.Status
		Duration time.Duration
	}
	// DeleteStatus removes a custom status.
	DeleteStatus struct{ ID string }
	// AdminSettings changes the workspace's default idle limit.
	AdminSettings struct{ IdleLimit time.Duration }
	// ReadSettings reads the workspace settings.
	ReadSettings struct{}
)

func (Activity) command()        {}
func (Idle) command()            {}
func (SetStatus) command()       {}
func (SetCustomStatus) command() {}
func (Bye) command()             {}
func (SignOut) command()         {}
func (History) command()         {}
func (SetPrefs) command()        {}
func (Subscribe) command()       {}
func (Unsubscribe) command()     {}
func (Query) command()           {}
func (AdminStats) command()      {}
func (AdminService) command()    {}
func (ListStatuses) command()    {}
func (CreateStatus) command()    {}
func (UpdateStatus) command()    {}
func (DeleteStatus) command()    {}
func (AdminSettings) command()   {}
func (ReadSettings) command()    {}

// answer sends c the reply to its command number seq, after the replies to
// its earlier commands: a reply that waits for the store holds back those
// of later commands that did not. Most replies find nothing waiting and go
// at once.
func (c *conn) answer(seq uint64, rep *Reply) {
	if len(c.held) == 0 && seq == c.answered {
		c.answered++
		c.sink.Send(rep)
		return
	}
	i := int(seq - c.answered)
	if i >= len(c.held) {
		c.held = append(c.held, make([]*Reply, i+1-len(c.held))...)
	}
	c.held[i] = rep
	for len(c.held) > 0 && c.held[0] != nil {
		c.sink.Send(c.held[0])
		c.held[0] = nil
		c.held = c.held[1:]
		c.answered++
	}
	if len(c.held) == 0 {
		c.held = nil // let go of the array
	}
}

// adminOnly reports whether cmd needs the admin role.
func adminOnly(cmd Command) bool {
	switch cmd.(type) {
	case AdminStats, AdminService, ListStatuses, CreateStatus, UpdateStatus, DeleteStatus, AdminSettings, ReadSettings:
		return true
	}
	return false
}

// forUser reports whether cmd acts on the user it runs for (exec).
func forUser(cmd Command) bool {
	switch cmd.(type) {
	case SetStatus, SetCustomStatus, SetPrefs, SignOut, History:
		return true
	}
	return false
}

// Do runs one command of a connection; the hub answers through the
// connection's sink with a Reply echoing requestID. It returns false if the
// hub has stopped.
func (h *Hub) Do(id ConnID, requestID string, cmd Command) bool {
	return h.send(op{id: id, reqID: requestID, cmd: cmd})
}

// reply is where the answer to one command goes: to connection c as its
// command number seq (see answer), or, with no connection (Exec), to to. A
// value rather than a closure: it is made for every command.
type reply struct {
	c     *conn
	seq   uint64
	reqID string
	to    func(Result, *Error)
}

// send answers the command.
func (r reply) send(result Result, err *Error) {
	if r.c == nil {
		r.to(result, err)
		return
	}
	r.c.answer(r.seq, &Reply{RequestID: r.reqID, Result: result, Err: err})
}

// do runs one command of connection id: the commands about the connection
// here, the rest through exec. Handlers that answer at once return their
// answer; those that write to the store first (see commit, ackSaved)
// answer through r once the write is done. Either way the connection gets
// its replies in the order of its commands (see answer).
func (h *Hub) do(id ConnID, reqID string, cmd Command) {
	c := h.conns[id]
	if c == nil {
		return // the connection is gone: nobody to answer
	}
	seq := c.asked
	c.asked++
	r := reply{c: c, seq: seq, reqID: reqID}
	now := time.Now()
	switch cmd := cmd.(type) {
	case Activity:
		r.send(h.activity(c, now))
	case Idle:
		r.send(h.goIdle(c, now))
	case Bye:
		h.bye(c, r, now)
	case Subscribe:
		r.send(h.subscribe(c, cmd, now))
	case Unsubscribe:
		r.send(h.unsubscribe(c, cmd))
	default:
		h.exec(c.user.id, c.user, c.admin, cmd, r, now)
	}
}

// exec runs a command that acts for a user rather than for one of its
// connections: from a connection (do), or from the HTTP API (Exec). The
// dispatch, one call per command. u is user uid when the caller has it (a
// connection's), else nil; the user is then looked up, and created if the
// hub has never seen it, so that a status set for a user with no
// connection is kept.
func (h *Hub) exec(uid string, u *user, admin bool, cmd Command, r reply, now time.Time) {
	if adminOnly(cmd) && !admin {
		r.send(nil, errorf(CodeForbidden, "this command needs the admin role"))
		return
	}
	if u == nil && forUser(cmd) {
		u = h.user(uid)
	}
	switch cmd := cmd.(type) {
	case SetStatus:
		h.setStatus(u, cmd, now, r)
	case SetCustomStatus:
		h.setCustomStatus(u, cmd, now, r)
	case SetPrefs:
		h.setPrefs(u, cmd, r)
	case SignOut:
		r.send(h.signOut(u, now))
	case History:
		r.send(h.historyOf(u, admin, cmd, now))
	case Query:
		r.send(h.query(cmd, now))
	case AdminStats:
		h.adminStats(cmd, r)
	case AdminService:
		h.adminService(uid, cmd, r)
	case ListStatuses:
		r.send(h.listStatuses(cmd))
	case CreateStatus:
		h.createStatus(cmd, r)
	case UpdateStatus:
		h.updateStatus(cmd, r)
	case DeleteStatus:
		h.deleteStatus(cmd, r)
	case AdminSettings:
		h.adminSettings(cmd, r)
	case ReadSettings:
		r.send(SettingsResult{IdleLimit: h.workspaceIdleLimit()}, nil)
	default:
		r.send(nil, errorf(CodeInternal, "the hub does not know %T", cmd))
	}
}
