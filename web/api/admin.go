package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web/wire"
)

// Stats answers GET /stats: the socket's admin.stats result.
type Stats struct {
	wire.Stats
	Service wire.Service `json:"service"`
}

// StatusPage answers GET /statuses: one page of the custom statuses whose
// name matches, ordered by name.
type StatusPage struct {
	Items []wire.CustomStatus `json:"items" nullable:"false"`
	Total int                 `json:"total" doc:"How many match, on every page."`
}

// NewStatus is a custom status to create.
type NewStatus struct {
	Name      string `json:"name" doc:"1..64 characters, unique case-insensitively."`
	Presence  string `json:"presence" doc:"online, away, busy or offline."`
	DurationS *int   `json:"duration_s,omitempty" doc:"The status's default lifetime when a user picks it, 60..31622400 seconds; null: never ends."`
}

// StatusPatch changes a custom status; what it leaves out stays.
type StatusPatch struct {
	Name      *string `json:"name,omitempty" doc:"1..64 characters, unique case-insensitively."`
	Presence  *string `json:"presence,omitempty" doc:"online, away, busy or offline."`
	DurationS *int    `json:"duration_s,omitempty" doc:"The status's default lifetime, 60..31622400 seconds; omitted: kept."`
}

// ServiceSwitch turns the presence service on or off.
type ServiceSwitch struct {
	Enabled bool `json:"enabled" doc:"On is refused (409, over_limit) unless connections are below the limit."`
}

type (
	listInput struct {
		Query  string `query:"query" doc:"Only names containing this, case-insensitively."`
		Offset int    `query:"offset" doc:"How many to skip."`
		Limit  string `query:"limit" doc:"How many, 1..100; default 50."`
	}
	statusPath struct {
		ID string `path:"id" doc:"A custom status id."`
	}
	patchInput struct {
		ID   string `path:"id" doc:"A custom status id."`
		Body StatusPatch
	}
)

func (a *API) registerAdmin() {
	register(a, op{who: adminOnly, Operation: huma.Operation{
		OperationID: "stats", Method: http.MethodGet, Path: "/stats", Tags: []string{"admin"},
		Summary: "The workspace's figures", Description: "The socket's admin.stats.",
	}}, func(ctx context.Context, _ *struct{}) (*body[Stats], error) {
		s, err := run[hub.Stats](ctx, a, callerOf(ctx).actor(), wire.Command{Type: wire.TypeAdminStats})
		if err != nil {
			return nil, err
		}
		w, err := result(s)
		if err != nil {
			return nil, err
		}
		return &body[Stats]{Stats{Stats: *w.Stats, Service: *w.Service}}, nil
	})
	register(a, op{who: adminOnly, Operation: huma.Operation{
		OperationID: "set-service", Method: http.MethodPut, Path: "/service", Tags: []string{"admin"},
		Summary: "Turn the presence service on or off", Description: "The socket's admin.service.",
		Errors: []int{http.StatusConflict, http.StatusServiceUnavailable},
	}}, func(ctx context.Context, in *body[ServiceSwitch]) (*body[wire.Service], error) {
		s, err := run[hub.ServiceResult](ctx, a, callerOf(ctx).actor(), wire.Command{Type: wire.TypeAdminService, Enabled: &in.Body.Enabled})
		if err != nil {
			return nil, err
		}
		w, err := result(s)
		if err != nil {
			return nil, err
		}
		return &body[wire.Service]{*w.Service}, nil
	})
	register(a, op{who: anyToken, Operation: huma.Operation{
		OperationID: "list-statuses", Method: http.MethodGet, Path: "/statuses", Tags: []string{"statuses"},
		Summary:     "Search the custom statuses",
		Description: "The socket's admin.statuses.list. Any token may list: every client gets the catalog in its welcome anyway.",
	}}, func(ctx context.Context, in *listInput) (*body[StatusPage], error) {
		c := wire.Command{Type: wire.TypeAdminList, Query: in.Query, Offset: in.Offset}
		if in.Limit != "" { // omitted: the socket's default
			n, err := strconv.Atoi(in.Limit)
			if err != nil {
				return nil, problem(wire.CodeBadRequest, "limit must be a whole number")
			}
			c.Limit = &n
		}
		// As an admin: the hub's list is an admin command on the socket.
		p, err := run[hub.StatusPage](ctx, a, hub.Actor{User: callerOf(ctx).user, Admin: true}, c)
		if err != nil {
			return nil, err
		}
		w, err := result(p)
		if err != nil {
			return nil, err
		}
		items, _ := w.Items.(*[]wire.CustomStatus)
		if items == nil {
			return nil, problem(wire.CodeInternal, "a page without items")
		}
		return &body[StatusPage]{StatusPage{Items: *items, Total: p.Total}}, nil
	})
	register(a, op{who: adminOnly, Operation: huma.Operation{
		OperationID: "create-status", Method: http.MethodPost, Path: "/statuses", Tags: []string{"statuses"},
		Summary: "Create a custom status", Description: "The socket's admin.statuses.create: every client gets a statuses event.",
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusConflict, http.StatusServiceUnavailable},
	}}, func(ctx context.Context, in *body[NewStatus]) (*body[wire.CustomStatus], error) {
		r, err := run[hub.StatusResult](ctx, a, callerOf(ctx).actor(),
			wire.Command{Type: wire.TypeAdminCreate, Name: in.Body.Name, Presence: in.Body.Presence, DurationS: in.Body.DurationS})
		if err != nil {
			return nil, err
		}
		return a.customStatus(r)
	})
	register(a, op{who: adminOnly, Operation: huma.Operation{
		OperationID: "get-status", Method: http.MethodGet, Path: "/statuses/{id}", Tags: []string{"statuses"},
		Summary: "One custom status",
		Errors:  []int{http.StatusNotFound},
	}}, func(ctx context.Context, in *statusPath) (*body[wire.CustomStatus], error) {
		cs, err := a.findStatus(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &body[wire.CustomStatus]{cs}, nil
	})
	register(a, op{who: adminOnly, Operation: huma.Operation{
		OperationID: "update-status", Method: http.MethodPatch, Path: "/statuses/{id}", Tags: []string{"statuses"},
		Summary:     "Change a custom status",
		Description: "The socket's admin.statuses.update: users holding it get the new name and presence.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
	}}, func(ctx context.Context, in *patchInput) (*body[wire.CustomStatus], error) {
		cs, err := a.findStatus(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		c := wire.Command{Type: wire.TypeAdminUpdate, Custom: cs.ID, Name: cs.Name, Presence: cs.Presence, DurationS: cs.DurationS}
		if in.Body.Name != nil {
			c.Name = *in.Body.Name
		}
		if in.Body.Presence != nil {
			c.Presence = *in.Body.Presence
		}
		if in.Body.DurationS != nil {
			c.DurationS = in.Body.DurationS
		}
		r, err := run[hub.StatusResult](ctx, a, callerOf(ctx).actor(), c)
		if err != nil {
			return nil, err
		}
		return a.customStatus(r)
	})
	register(a, op{who: adminOnly, Operation: huma.Operation{
		OperationID: "delete-status", Method: http.MethodDelete, Path: "/statuses/{id}", Tags: []string{"statuses"},
		Summary:     "Delete a custom status",
		Description: "The socket's admin.statuses.delete: users holding it keep their presence and lose the text. Answers the deleted status.",
		Errors:      []int{http.StatusNotFound, http.StatusServiceUnavailable},
	}}, func(ctx context.Context, in *statusPath) (*body[wire.CustomStatus], error) {
		r, err := run[hub.StatusResult](ctx, a, callerOf(ctx).actor(), wire.Command{Type: wire.TypeAdminDelete, Custom: in.ID})
		if err != nil {
			return nil, err
		}
		return a.customStatus(r)
	})
	register(a, op{who: adminOnly, Operation: huma.Operation{
		OperationID: "get-settings", Method: http.MethodGet, Path: "/settings", Tags: []string{"admin"},
		Summary: "The workspace settings",
	}}, func(ctx context.Context, _ *struct{}) (*body[wire.Settings], error) {
		s, err := exec[hub.SettingsResult](ctx, a, callerOf(ctx).actor(), hub.ReadSettings{})
		if err != nil {
			return nil, err
		}
		return &body[wire.Settings]{wire.Settings{IdleLimitS: int(s.IdleLimit.Seconds())}}, nil
	})
	register(a, op{who: adminOnly, Operation: huma.Operation{
		OperationID: "set-settings", Method: http.MethodPut, Path: "/settings", Tags: []string{"admin"},
		Summary: "Change the workspace settings", Description: "The socket's admin.settings.",
		Errors: []int{http.StatusServiceUnavailable},
	}}, func(ctx context.Context, in *body[wire.Settings]) (*body[wire.Settings], error) {
		s, err := run[hub.SettingsResult](ctx, a, callerOf(ctx).actor(),
			wire.Command{Type: wire.TypeAdminSettings, IdleLimitS: &in.Body.IdleLimitS})
		if err != nil {
			return nil, err
		}
		return &body[wire.Settings]{wire.Settings{IdleLimitS: int(s.IdleLimit.Seconds())}}, nil
	})
}

// findStatus looks a custom status up by id. The hub's catalog is searched
// by name, so this pages through it: catalogs are small (a few dozen).
func (a *API) findStatus(ctx context.Context, id string) (wire.CustomStatus, error) {
	if _, err := decode(wire.Command{Type: wire.TypeAdminDelete, Custom: id}); err != nil {
		return wire.CustomStatus{}, err // the socket's check of a custom id
	}
	act := callerOf(ctx).actor()
	for offset := 0; ; offset += wire.MaxPageLimit {
		p, err := exec[hub.StatusPage](ctx, a, act, hub.ListStatuses{Offset: offset, Limit: wire.MaxPageLimit})
		if err != nil {
			return wire.CustomStatus{}, err
		}
		w, err := result(p)
		if err != nil {
			return wire.CustomStatus{}, err
		}
		items, _ := w.Items.(*[]wire.CustomStatus)
		if items == nil {
			return wire.CustomStatus{}, problem(wire.CodeInternal, "a page without items")
		}
		for _, cs := range *items {
			if cs.ID == id {
				return cs, nil
			}
		}
		if offset+len(*items) >= p.Total || len(*items) == 0 {
			return wire.CustomStatus{}, problem(wire.CodeNotFound, "no custom status has id "+strconv.Quote(id))
		}
	}
}

// customStatus answers with the status of a create, update or delete.
func (a *API) customStatus(r hub.StatusResult) (*body[wire.CustomStatus], error) {
	w, err := result(r)
	if err != nil {
		return nil, err
	}
	return &body[wire.CustomStatus]{*w.Status}, nil
}
