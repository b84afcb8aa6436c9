package hub

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// listStatuses pages through the catalog (admin.statuses.list).
func (h *Hub) listStatuses(cmd ListStatuses) (Result, *Error) {
	items, total := h.catalog.Search(cmd.Query, cmd.Offset, cmd.Limit)
	return StatusPage{Items: items, Total: total}, nil
}

func (h *Hub) createStatus(cmd CreateStatus, r reply) {
	name, err := status.CleanName(cmd.Name)
	if err != nil {
		r.send(nil, errorf(CodeBadRequest, "%s", err))
		return
	}
	if h.catalog.Taken(name, "") {
		r.send(nil, errConflict(name))
		return
	}
	if err := checkDefaultDuration(cmd.Duration); err != nil {
		r.send(nil, err)
		return
	}
	cs := status.Custom{ID: uuid.NewString(), Name: name, Presence: cmd.Presence, Duration: cmd.Duration}
	h.commit(r, func(ctx context.Context) error {
		return conflictOf(h.cfg.Store.CreateCustomStatus(ctx, cs), name)
	}, func() Result {
		h.catalog.Put(cs)
		h.catalogChanged(OpCreated, cs)
		return StatusResult{Status: cs}
	})
}

func (h *Hub) updateStatus(cmd UpdateStatus, r reply) {
	if _, ok := h.catalog.Get(cmd.ID); !ok {
		r.send(nil, errorf(CodeNotFound, "no custom status has id %q", cmd.ID))
		return
	}
	name, err := status.CleanName(cmd.Name)
	if err != nil {
		r.send(nil, errorf(CodeBadRequest, "%s", err))
		return
	}
	if h.catalog.Taken(name, cmd.ID) {
		r.send(nil, errConflict(name))
		return
	}
	if err := checkDefaultDuration(cmd.Duration); err != nil {
		r.send(nil, err)
		return
	}
	cs := status.Custom{ID: cmd.ID, Name: name, Presence: cmd.Presence, Duration: cmd.Duration}
	h.commit(r, func(ctx context.Context) error {
		return conflictOf(h.cfg.Store.UpdateCustomStatus(ctx, cs), name)
	}, func() Result {
		h.catalog.Put(cs)
		h.followCatalog(cs.ID, true)
		h.catalogChanged(OpUpdated, cs)
		return StatusResult{Status: cs}
	})
}

func (h *Hub) deleteStatus(cmd DeleteStatus, r reply) {
	cs, ok := h.catalog.Get(cmd.ID)
	if !ok {
		r.send(nil, errorf(CodeNotFound, "no custom status has id %q", cmd.ID))
		return
	}
	h.commit(r, func(ctx context.Context) error {
		err := h.cfg.Store.DeleteCustomStatus(ctx, cs.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // gone already: what the admin wanted
		}
		return err
	}, func() Result {
		h.catalog.Delete(cs.ID)
		h.followCatalog(cs.ID, true)
		h.catalogChanged(OpDeleted, cs)
		return StatusResult{Status: cs}
	})
}

// checkDefaultDuration checks a custom status's default lifetime: none (0)
// or status.MinDuration..MaxDuration.
func checkDefaultDuration(d time.Duration) *Error {
	if d == 0 {
		return nil
	}
	if err := status.CheckDuration(d); err != nil {
		return errorf(CodeBadRequest, "%s", err)
	}
	return nil
}

// catalogChanged tells the other nodes and every connection of a change
// made here.
func (h *Hub) catalogChanged(op CatalogOp, cs status.Custom) {
	h.publish(CatalogChanged{Op: op, Status: cs})
	h.statusesChanged(op, cs)
}

// statusesChanged tells every connection, and the change sink, that the
// catalog changed, here or on another node.
func (h *Hub) statusesChanged(op CatalogOp, cs status.Custom) {
	h.broadcast(&StatusesChanged{Op: op, Status: cs})
	if h.cfg.Changes != nil {
		h.cfg.Changes.OnCatalog(CatalogChange{Op: op, Status: cs, At: time.Now()})
	}
}

// followCatalog updates every holder of the custom status id after it
// changed in the catalog. The node where the admin made the change saves
// them (persist); the others only follow.
func (h *Hub) followCatalog(id string, persist bool) {
	now := time.Now()
	for _, u := range h.users {
		if u.rec.Custom == id && h.follow(u) {
			if persist {
				h.writer.putUser(u.rec)
			}
			h.changed(u, presence.ReasonCatalog, true, now)
		}
	}
}

func errConflict(name string) *Error {
	return errorf(CodeConflict, "a custom status named %q already exists", name)
}

// conflictOf names the status a store conflict is about.
func conflictOf(err error, name string) error {
	if errors.Is(err, store.ErrConflict) {
		return errConflict(name)
	}
	return err
}
