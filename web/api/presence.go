package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web"
	"github.com/presenced/presenced/web/wire"
)

// Users answers a presence query: each user asked, in the order asked.
type Users struct {
	Users []wire.Entry `json:"users" nullable:"false" doc:"One entry per user asked, in order. A user the hub has never seen is offline, with since and last_seen null."`
}

// StatusBody is what PUT /users/{id}/status sets.
type StatusBody struct {
	Status    string  `json:"status" doc:"The manual status: online (automatic), away, busy or offline."`
	Text      *string `json:"text,omitempty" doc:"The status text, 0..120 characters after trimming. Omitted: cleared."`
	Until     *string `json:"until,omitempty" doc:"When the status expires, RFC 3339: in the future, at most 366 days ahead. Not with duration_s."`
	DurationS *int    `json:"duration_s,omitempty" doc:"How long the status lasts, 60..31622400 seconds. Not with until."`
}

// CustomStatusBody is what PUT /users/{id}/custom-status picks.
type CustomStatusBody struct {
	Custom    string  `json:"custom" doc:"The custom status id."`
	Until     *string `json:"until,omitempty" doc:"When the status expires, RFC 3339: in the future, at most 366 days ahead. Not with duration_s."`
	DurationS *int    `json:"duration_s,omitempty" doc:"How long the status lasts, 60..31622400 seconds. Not with until. Neither: the custom status's own default duration, if it has one."`
}

// History answers GET /users/{id}/history: the user's recent changes of
// effective status, newest first.
type History struct {
	Items []wire.HistoryItem `json:"items" nullable:"false"`
}

type (
	queryParams struct {
		Users string `query:"users" required:"true" doc:"User ids, comma-separated: 1..1000 of them."`
	}
	queryBody struct {
		Body struct {
			Users []string `json:"users" doc:"User ids: 1..1000 of them."`
		}
	}
	userPath struct {
		ID string `path:"id" doc:"A user id, 1..128 characters."`
	}
	statusInput struct {
		ID   string `path:"id" doc:"A user id, 1..128 characters."`
		Body StatusBody
	}
	customStatusInput struct {
		ID   string `path:"id" doc:"A user id, 1..128 characters."`
		Body CustomStatusBody
	}
	historyInput struct {
		ID    string `path:"id" doc:"A user id, 1..128 characters."`
		Limit string `query:"limit" doc:"How many items, 1..100; default 20."`
	}
	body[T any] struct{ Body T }
)

func (a *API) registerPresence() {
	register(a, op{who: anyToken, Operation: huma.Operation{
		OperationID: "query-presence", Method: http.MethodGet, Path: "/presence", Tags: []string{"presence"},
		Summary:     "Users' presence",
		Description: "The socket's query: users' presence now, with no subscription.",
	}}, func(ctx context.Context, in *queryParams) (*body[Users], error) {
		return a.query(ctx, strings.Split(in.Users, ","))
	})
	register(a, op{who: anyToken, Operation: huma.Operation{
		OperationID: "query-presence-post", Method: http.MethodPost, Path: "/presence/query", Tags: []string{"presence"},
		Summary:     "Users' presence, ids in the body",
		Description: "As GET /presence, for lists of ids too long for a URL.",
	}}, func(ctx context.Context, in *queryBody) (*body[Users], error) {
		return a.query(ctx, in.Body.Users)
	})
	register(a, op{who: anyToken, Operation: huma.Operation{
		OperationID: "get-user", Method: http.MethodGet, Path: "/users/{id}", Tags: []string{"presence"},
		Summary:     "One user's presence",
		Description: "The socket's query of one user. A user the hub has never seen is offline, not 404.",
	}}, func(ctx context.Context, in *userPath) (*body[wire.Entry], error) {
		us, err := a.query(ctx, []string{in.ID})
		if err != nil {
			return nil, err
		}
		return &body[wire.Entry]{us.Body.Users[0]}, nil
	})
	register(a, op{who: selfOrKey, Operation: huma.Operation{
		OperationID: "set-status", Method: http.MethodPut, Path: "/users/{id}/status", Tags: []string{"presence"},
		Summary: "Set a user's status",
		Description: "The socket's set_status, for that user or, with the API key, for any user. A user with no " +
			"connection keeps it and comes online with it.",
		Errors: []int{http.StatusServiceUnavailable},
	}}, func(ctx context.Context, in *statusInput) (*body[wire.Self], error) {
		return pick(ctx, a, in.ID, wire.Command{Type: wire.TypeSetStatus,
			Status: in.Body.Status, Text: in.Body.Text, Until: in.Body.Until, DurationS: in.Body.DurationS})
	})
	register(a, op{who: selfOrKey, Operation: huma.Operation{
		OperationID: "set-custom-status", Method: http.MethodPut, Path: "/users/{id}/custom-status", Tags: []string{"presence"},
		Summary:     "Pick a custom status for a user",
		Description: "The socket's set_custom_status, for that user or, with the API key, for any user.",
		Errors:      []int{http.StatusNotFound, http.StatusServiceUnavailable},
	}}, func(ctx context.Context, in *customStatusInput) (*body[wire.Self], error) {
		return pick(ctx, a, in.ID, wire.Command{Type: wire.TypeSetCustomStatus,
			Custom: in.Body.Custom, Until: in.Body.Until, DurationS: in.Body.DurationS})
	})
	register(a, op{who: selfOrAdmin, Operation: huma.Operation{
		OperationID: "bye", Method: http.MethodPost, Path: "/users/{id}/bye", Tags: []string{"presence"},
		Summary: "Sign a user out everywhere",
		Description: "Closes every socket of the user (close 4003, signed out) and sets them offline at once, " +
			"with no reconnect grace.",
	}}, func(ctx context.Context, in *userPath) (*body[wire.Entry], error) {
		if err := checkUser(in.ID); err != nil {
			return nil, err
		}
		if err := execNone(ctx, a, hub.Actor{User: in.ID}, hub.SignOut{}); err != nil {
			return nil, err
		}
		us, err := a.query(ctx, []string{in.ID})
		if err != nil {
			return nil, err
		}
		return &body[wire.Entry]{us.Body.Users[0]}, nil
	})
	register(a, op{who: selfOrAdmin, Operation: huma.Operation{
		OperationID: "history", Method: http.MethodGet, Path: "/users/{id}/history", Tags: []string{"presence"},
		Summary:     "Why is Alice away: a user's recent changes",
		Description: "The socket's history: the user's recent changes of effective status, newest first.",
	}}, func(ctx context.Context, in *historyInput) (*body[History], error) {
		if err := checkUser(in.ID); err != nil {
			return nil, err
		}
		c := wire.Command{Type: wire.TypeHistory, User: in.ID}
		if in.Limit != "" { // omitted: the socket's default
			n, err := strconv.Atoi(in.Limit)
			if err != nil {
				return nil, problem(wire.CodeBadRequest, "limit must be a whole number")
			}
			c.Limit = &n
		}
		// The caller is that user, or an admin (guard saw to it): the
		// API key reads as an admin.
		act := callerOf(ctx).actor()
		if act.User == "" {
			act.User = in.ID
		}
		h, err := run[hub.HistoryResult](ctx, a, act, c)
		if err != nil {
			return nil, err
		}
		w, err := result(h)
		if err != nil {
			return nil, err
		}
		items, _ := w.Items.(*[]wire.HistoryItem)
		if items == nil {
			return nil, problem(wire.CodeInternal, "history without items")
		}
		return &body[History]{History{Items: *items}}, nil
	})
}

// query runs the socket's query for users.
func (a *API) query(ctx context.Context, users []string) (*body[Users], error) {
	es, err := run[hub.Entries](ctx, a, callerOf(ctx).actor(), wire.Command{Type: wire.TypeQuery, Users: users})
	if err != nil {
		return nil, err
	}
	return &body[Users]{Users{Users: web.Entries(es)}}, nil
}

// checkUser checks a user id of a path, as the socket checks one.
func checkUser(id string) error {
	if err := wire.CheckUserID(id); err != nil {
		return fromWire(err)
	}
	return nil
}

// pick runs a status pick c (set_status, set_custom_status) for user and
// answers the user's own status, as the socket's reply does.
func pick(ctx context.Context, a *API, user string, c wire.Command) (*body[wire.Self], error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	s, err := run[hub.SelfResult](ctx, a, hub.Actor{User: user}, c)
	if err != nil {
		return nil, err
	}
	w, err := result(s)
	if err != nil {
		return nil, err
	}
	return &body[wire.Self]{*w.Self}, nil
}
