package hub

import (
	"context"
	"time"
)

// Actor is who a command runs for when no connection sends it: a backend
// calling the HTTP API with a user's token (User is that user) or with the
// server API key (Admin, and User is whoever the call acts for, or empty).
type Actor struct {
	User  string
	Admin bool
}

// Exec runs cmd for actor, with no connection, and waits for its answer:
// the same handling, checks, fan-out and store writes as the command of a
// connection (Do), answered here instead of through a Sink. Commands about
// a connection (Activity, Idle, Bye, Subscribe, Unsubscribe) are refused. It
// gives up with CodeUnavailable when ctx ends or the hub stops first.
func (h *Hub) Exec(ctx context.Context, actor Actor, cmd Command) (Result, *Error) {
	switch cmd.(type) {
	case Activity, Idle, Bye, Subscribe, Unsubscribe:
		return nil, errorf(CodeBadRequest, "%T is about a connection, and there is none", cmd)
	case nil:
		return nil, errorf(CodeInternal, "no command")
	}
	if ctx.Err() != nil {
		return nil, errGaveUp()
	}
	if actor.User == "" && !adminOnly(cmd) && !readOnly(cmd) {
		return nil, errorf(CodeBadRequest, "%T acts for a user, and none was given", cmd)
	}
	type answer struct {
		result Result
		err    *Error
	}
	// Buffered: the hub answers once and never waits, even for a caller
	// that has given up.
	answers := make(chan answer, 1)
	run := func() {
		h.exec(actor.User, nil, actor.Admin, cmd, reply{to: func(r Result, err *Error) { answers <- answer{r, err} }}, time.Now())
	}
	select {
	case h.inbox <- op{f: run}:
	case <-h.done:
		return nil, errStopped()
	case <-ctx.Done():
		return nil, errGaveUp()
	}
	select {
	case a := <-answers:
		return a.result, a.err
	case <-h.done:
		return nil, errStopped()
	case <-ctx.Done():
		return nil, errGaveUp()
	}
}

// readOnly reports whether cmd only reads, and so needs no user.
func readOnly(cmd Command) bool {
	_, ok := cmd.(Query)
	return ok
}

func errStopped() *Error {
	return errorf(CodeUnavailable, "the server is shutting down; try another node or later")
}

func errGaveUp() *Error {
	return errorf(CodeUnavailable, "the request ended before the hub answered")
}
