package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/presenced/presenced/store"
)

// warnAt are the percentages of the limit at which admins are warned, once
// per crossing. A warning is re-armed when the count falls 5 % of the limit
// below its threshold, so a count that wobbles around it does not spam.
var warnAt = []int{80, 95}

func (h *Hub) serviceNow() Service {
	return Service{
		Enabled:     h.service.Enabled,
		Reason:      h.service.Reason,
		Since:       h.service.Since,
		Connections: h.count(),
		Limit:       h.cfg.Limit,
		Edition:     h.cfg.Edition,
	}
}

// countRose applies the limit after a connection made the count n, before
// that connection is in h.conns. It returns the notices it sent admins.
func (h *Hub) countRose(n int, now time.Time) []*Notice {
	// With other nodes this node's peak may be stale (an admin elsewhere
	// reset the workspace's): the store keeps the workspace's, so every
	// count goes there; the writer coalesces them.
	if n > h.peak || h.cfg.Backplane != nil {
		h.peak = max(h.peak, n)
		h.writer.raisePeak(n)
	}
	limit := h.cfg.Limit
	if limit == 0 {
		return nil
	}
	var sent []*Notice
	if w := h.warn(n); w != nil {
		sent = append(sent, w)
	}
	if n > limit && h.service.Enabled {
		h.readyMsg = false
		h.setService(store.Service{Enabled: false, Reason: ReasonConnectionLimit, Since: now}, n)
		h.logService(n, "connection_limit", "presence service disabled: the workspace went over its connection limit; an admin can turn it on once fewer connections are open")
		h.writer.putService(h.service)
		h.publish(ServiceSwitched{Service: h.service})
		sent = append(sent, h.limitNotice(n))
	}
	return sent
}

// warn tells admins when the count n first reaches a warning threshold. Only
// the highest threshold crossed is told: with a small limit one connection
// can cross both.
func (h *Hub) warn(n int) *Notice {
	limit := h.cfg.Limit
	for i := len(warnAt) - 1; i >= 0; i-- {
		pct := warnAt[i]
		if n < threshold(limit, pct) || h.warned[pct] {
			continue
		}
		for _, lower := range warnAt[:i+1] {
			h.warned[lower] = true
		}
		h.log.Warn().Int("connections", n).Int("limit", limit).Int("percent", pct).
			Msgf("connections at %d%% of the limit: past it, presence turns itself off", pct)
		return h.notify(&Notice{Level: LevelWarning, Code: fmt.Sprintf("limit_%d", pct),
			Message: fmt.Sprintf("The workspace has %d of its %d connections (%d%%). Past %d, presence turns itself off for everyone: close unused tabs and devices, or move to the enterprise edition.",
				n, limit, n*100/limit, limit),
			Connections: n, Limit: limit})
	}
	return nil
}

// limitNotice tells admins that the service tripped at count n.
func (h *Hub) limitNotice(n int) *Notice {
	limit := h.cfg.Limit
	return h.notify(&Notice{Level: LevelCritical, Code: ReasonConnectionLimit,
		Message: fmt.Sprintf("Presence is off: the workspace reached %d connections, over the free edition's limit of %d, so everyone sees every status as disabled. Once fewer than %d connections are open, turn it back on in Administration > Workspace > User Status, or move to the enterprise edition, which has no limit.",
			n, limit, limit),
		Connections: n, Limit: limit})
}

// countFell re-arms warnings and tells admins when a tripped service can be
// turned on again, after a connection left.
func (h *Hub) countFell() {
	limit, n := h.cfg.Limit, h.count()
	if limit == 0 {
		return
	}
	for _, pct := range warnAt {
		if n < threshold(limit, pct)-max(1, limit/20) {
			h.warned[pct] = false
		}
	}
	if !h.service.Enabled && h.service.Reason == ReasonConnectionLimit && n < limit && !h.readyMsg {
		h.readyMsg = true
		h.log.Info().Int("connections", n).Int("limit", limit).
			Msg("connections back under the limit: an admin can turn presence on again")
		h.notify(&Notice{Level: LevelInfo, Code: "ready_to_enable",
			Message:     fmt.Sprintf("The workspace is back under its limit (%d of %d connections): presence can be turned on again in Administration > Workspace > User Status.", n, limit),
			Connections: n, Limit: limit})
	}
}

// userLimitNoticeEvery is how often admins are told, at most, that one
// user's connections are being refused: a client in a reconnect loop is
// refused many times a second.
const userLimitNoticeEvery = time.Minute

// userLimitNotice tells admins that a connection of u was refused for
// u's cap, unless they were told of u within userLimitNoticeEvery.
func (h *Hub) userLimitNotice(u *user, now time.Time) {
	if !u.limitToldAt.IsZero() && now.Sub(u.limitToldAt) < userLimitNoticeEvery {
		return
	}
	u.limitToldAt = now
	limit := h.cfg.MaxConnsPerUser
	h.notify(&Notice{Level: LevelWarning, Code: "user_connection_limit",
		Message: fmt.Sprintf("Connections of %s are being refused: %s already has %d open, the most one user may have. A client stuck in a reconnect loop, or too many tabs and devices? Presence goes on for everyone else.",
			u.id, u.id, len(u.conns)),
		Connections: len(u.conns), Limit: limit})
}

func errOverLimit(n, limit int) *Error {
	return errorf(CodeOverLimit,
		"the workspace has %d connections and the free edition allows %d: presence can be turned on once fewer than %d are open",
		n, limit, limit)
}

// threshold is pct percent of limit, rounded up.
func threshold(limit, pct int) int {
	return (limit*pct + 99) / 100
}

// notify sends n to every admin connection and returns it.
func (h *Hub) notify(n *Notice) *Notice {
	for _, c := range h.conns {
		if c.admin {
			c.sink.Send(n)
		}
	}
	return n
}

// logService logs that the service just switched (to h.service), by whom
// or what, at connection count n: the line an operator reads to learn why
// presence is off, or since when it is on again.
func (h *Hub) logService(n int, by, msg string) {
	ev := h.log.Warn()
	if h.service.Enabled {
		ev = h.log.Info()
	}
	ev = ev.Str("service", serviceWord(h.service.Enabled)).Str("by", by).Int("connections", n)
	if h.cfg.Limit > 0 {
		ev = ev.Int("limit", h.cfg.Limit)
	}
	if h.service.Reason != "" {
		ev = ev.Str("reason", h.service.Reason)
	}
	ev.Msg(msg)
}

// setService switches the service and tells every connection; n is the
// connection count to report. Turning it on sends every subscriber a fresh
// snapshot, since no change went out while it was off.
func (h *Hub) setService(s store.Service, n int) {
	h.service = s
	sv := h.serviceNow()
	sv.Connections = n
	h.broadcast(&ServiceChanged{Service: sv})
	if h.cfg.Changes != nil {
		h.cfg.Changes.OnService(ServiceChange{Enabled: s.Enabled, Reason: s.Reason, At: time.Now()})
	}
	if !s.Enabled {
		return
	}
	now := time.Now()
	for _, c := range h.conns {
		if c.subAll {
			// Every user, offline ones too: a client that showed them
			// disabled needs their real state now.
			for _, u := range h.users {
				c.sink.Presence(h.entry(u, now))
			}
		}
		for _, uid := range c.subs {
			if u := h.users[uid]; u != nil {
				c.sink.Presence(h.entry(u, now))
			}
		}
	}
}

// adminService turns the service on or off for the admin with id admin.
// The change counts only once the store has it, so a restart keeps it.
func (h *Hub) adminService(admin string, cmd AdminService, r reply) {
	enabled := cmd.Enabled
	if enabled == h.service.Enabled {
		r.send(ServiceResult{Service: h.serviceNow()}, nil)
		return
	}
	if n := h.count(); enabled && h.cfg.Limit > 0 && n >= h.cfg.Limit {
		r.send(nil, errOverLimit(n, h.cfg.Limit))
		return
	}
	s := store.Service{Enabled: enabled, Since: time.Now()}
	if !enabled {
		s.Reason = ReasonAdmin
	}
	bp, limit := h.cfg.Backplane, h.cfg.Limit
	h.commit(r, func(ctx context.Context) error {
		// On several nodes this node's count may be a moment old: ask.
		if bp != nil && enabled && limit > 0 {
			n, err := bp.Count(ctx)
			if err != nil {
				return err
			}
			if n >= limit {
				return errOverLimit(n, limit)
			}
		}
		return h.cfg.Store.PutService(ctx, s)
	}, func() Result {
		h.setService(s, h.count())
		h.logService(h.count(), "admin:"+admin, "presence service "+serviceWord(s.Enabled)+" by an admin")
		h.publish(ServiceSwitched{Service: s})
		return ServiceResult{Service: h.serviceNow()}
	})
}
