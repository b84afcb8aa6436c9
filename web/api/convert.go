package api

import (
	"time"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/web/wire"
)

// The conversions below from hub values to wire types give the API the
// socket's JSON shapes. TestSameAnswersAsTheSocket holds them to the
// socket's encoder (web/codec.go), so that the two cannot drift.

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Millisecond)
	return &t
}

func optLimit(n int) *int {
	if n <= 0 {
		return nil
	}
	return &n
}

func entry(e hub.Entry) wire.Entry {
	if e.Disabled {
		return wire.Entry{ID: e.User, Status: wire.StatusDisabled}
	}
	return wire.Entry{ID: e.User, Status: e.Status.String(), Text: e.Text, Custom: optString(e.Custom),
		Since: optTime(e.Since), LastSeen: optTime(e.LastSeen)}
}

func entries(es []hub.Entry) []wire.Entry {
	out := make([]wire.Entry, len(es))
	for i, e := range es {
		out[i] = entry(e)
	}
	return out
}

func self(s hub.Self) wire.Self {
	st := s.Status.String()
	if s.Disabled {
		st = wire.StatusDisabled
	}
	return wire.Self{Status: st, Manual: s.Manual.String(), Text: s.Text, Custom: optString(s.Custom)}
}

func service(s hub.Service) wire.Service {
	w := wire.Service{State: "enabled", Connections: s.Connections, Edition: string(s.Edition), Limit: optLimit(s.Limit)}
	if !s.Enabled {
		w.State = "disabled"
		w.Reason = optString(s.Reason)
	}
	return w
}

func custom(c status.Custom) wire.CustomStatus {
	return wire.CustomStatus{ID: c.ID, Name: c.Name, Presence: c.Presence.String()}
}

func customs(cs []status.Custom) []wire.CustomStatus {
	out := make([]wire.CustomStatus, len(cs))
	for i, c := range cs {
		out[i] = custom(c)
	}
	return out
}

func stats(s hub.Stats) Stats {
	return Stats{
		Stats: wire.Stats{Connections: s.Service.Connections, Peak: s.Peak, UsersOnline: s.UsersOnline,
			Limit: optLimit(s.Service.Limit), Edition: string(s.Service.Edition), ServiceSince: optTime(s.Service.Since)},
		Service: service(s.Service),
	}
}
