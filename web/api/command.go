package api

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web"
	"github.com/presenced/presenced/web/wire"
)

// execTimeout bounds how long a request waits for the hub: an admin change
// waits for its store write, which gives up after 3 s.
const execTimeout = 10 * time.Second

// decode checks c as the socket checks a frame of the same command (the
// same decoder, so the same limits and messages) and returns the hub
// command the socket would run for it.
func decode(c wire.Command) (hub.Command, error) {
	frame, err := json.Marshal(c)
	if err != nil {
		return nil, problem(wire.CodeInternal, fmt.Sprintf("encode the command: %v", err))
	}
	c, err = wire.Decode(frame)
	if err != nil {
		return nil, fromWire(err)
	}
	return web.Command(c), nil
}

// run decodes c, runs it on the hub as act, and returns its result as R.
func run[R any](ctx context.Context, a *API, act hub.Actor, c wire.Command) (R, error) {
	var zero R
	cmd, err := decode(c)
	if err != nil {
		return zero, err
	}
	return exec[R](ctx, a, act, cmd)
}

// exec runs cmd on the hub as act and returns its result as R.
func exec[R any](ctx context.Context, a *API, act hub.Actor, cmd hub.Command) (R, error) {
	var zero R
	ctx, cancel := context.WithTimeout(ctx, execTimeout)
	defer cancel()
	res, herr := a.cfg.Hub.Exec(ctx, act, cmd)
	if herr != nil {
		return zero, fromHub(herr)
	}
	r, ok := res.(R)
	if !ok {
		return zero, problem(wire.CodeInternal, fmt.Sprintf("the hub answered %T to %T", res, cmd))
	}
	return r, nil
}

// execNone runs cmd, whose answer has no result, on the hub as act.
func execNone(ctx context.Context, a *API, act hub.Actor, cmd hub.Command) error {
	ctx, cancel := context.WithTimeout(ctx, execTimeout)
	defer cancel()
	if _, herr := a.cfg.Hub.Exec(ctx, act, cmd); herr != nil {
		return fromHub(herr)
	}
	return nil
}

// result is r as the socket's result frame carries it.
func result(r hub.Result) (wire.Result, error) {
	w, ok := web.ResultOf(r)
	if !ok {
		return w, problem(wire.CodeInternal, fmt.Sprintf("no wire form for the hub's %T", r))
	}
	return w, nil
}
