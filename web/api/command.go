package api

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/web/wire"
)

// execTimeout bounds how long a request waits for the hub: an admin change
// waits for its store write, which gives up after 3 s.
const execTimeout = 10 * time.Second

// decode checks c as the socket checks a frame of the same command (the
// same decoder, so the same limits and messages) and returns the hub
// command it stands for.
func decode(c wire.Command) (hub.Command, error) {
	frame, err := json.Marshal(c)
	if err != nil {
		return nil, problem(wire.CodeInternal, fmt.Sprintf("encode the command: %v", err))
	}
	c, err = wire.Decode(frame)
	if err != nil {
		return nil, fromWire(err)
	}
	return command(c), nil
}

// command turns a decoded command into the hub's, as the socket does
// (web/codec.go), for the commands the API has.
func command(c wire.Command) hub.Command {
	switch c.Type {
	case wire.TypeSetStatus:
		st, _ := presence.ParseStatus(c.Status)
		cmd := hub.SetStatus{Manual: st}
		if c.Text != nil {
			cmd.Text = *c.Text
		}
		return cmd
	case wire.TypeSetCustomStatus:
		return hub.SetCustomStatus{Custom: c.Custom}
	case wire.TypeQuery:
		return hub.Query{Users: c.Users}
	case wire.TypeAdminStats:
		return hub.AdminStats{ResetPeak: c.ResetPeak}
	case wire.TypeAdminService:
		return hub.AdminService{Enabled: *c.Enabled}
	case wire.TypeAdminList:
		return hub.ListStatuses{Query: c.Query, Offset: c.Offset, Limit: *c.Limit}
	case wire.TypeAdminCreate:
		p, _ := presence.ParseStatus(c.Presence)
		return hub.CreateStatus{Name: c.Name, Presence: p}
	case wire.TypeAdminUpdate:
		p, _ := presence.ParseStatus(c.Presence)
		return hub.UpdateStatus{ID: c.Custom, Name: c.Name, Presence: p}
	case wire.TypeAdminDelete:
		return hub.DeleteStatus{ID: c.Custom}
	case wire.TypeAdminSettings:
		return hub.AdminSettings{IdleLimit: time.Duration(*c.IdleLimitS) * time.Second}
	}
	return nil
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
