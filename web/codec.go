package web

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/web/wire"
)

// command turns a decoded frame into a hub command. The frame has passed
// wire.Decode, so its fields have the right shape.
func command(c wire.Command) hub.Command {
	switch c.Type {
	case wire.TypeActivity:
		return hub.Activity{}
	case wire.TypeIdle:
		return hub.Idle{}
	case wire.TypeSetStatus:
		st, _ := presence.ParseStatus(c.Status)
		cmd := hub.SetStatus{Manual: st, Lifetime: lifetime(c)}
		if c.Text != nil {
			cmd.Text = *c.Text
		}
		return cmd
	case wire.TypeSetCustomStatus:
		return hub.SetCustomStatus{Custom: c.Custom, Lifetime: lifetime(c)}
	case wire.TypeBye:
		return hub.Bye{}
	case wire.TypeHistory:
		return hub.History{User: c.User, Limit: *c.Limit}
	case wire.TypeSetPrefs:
		cmd := hub.SetPrefs{AutoAway: c.AutoAway}
		if c.IdleLimitS != nil {
			d := time.Duration(*c.IdleLimitS) * time.Second
			cmd.IdleLimit = &d
		}
		return cmd
	case wire.TypeSubscribe:
		return hub.Subscribe{Users: c.Users, All: c.All}
	case wire.TypeUnsubscribe:
		return hub.Unsubscribe{Users: c.Users, All: c.All}
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
		return hub.CreateStatus{Name: c.Name, Presence: p, Duration: seconds(c.DurationS)}
	case wire.TypeAdminUpdate:
		p, _ := presence.ParseStatus(c.Presence)
		return hub.UpdateStatus{ID: c.Custom, Name: c.Name, Presence: p, Duration: seconds(c.DurationS)}
	case wire.TypeAdminDelete:
		return hub.DeleteStatus{ID: c.Custom}
	case wire.TypeAdminSettings:
		return hub.AdminSettings{IdleLimit: time.Duration(*c.IdleLimitS) * time.Second}
	}
	return nil
}

// lifetime is the until or duration_s of a status pick.
func lifetime(c wire.Command) status.Lifetime {
	return status.Lifetime{Until: c.UntilTime(), Duration: seconds(c.DurationS)}
}

// seconds is a duration_s, 0 when absent.
func seconds(s *int) time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(*s) * time.Second
}

// optSeconds is a duration as duration_s: null when zero.
func optSeconds(d time.Duration) *int {
	if d <= 0 {
		return nil
	}
	s := int(d / time.Second)
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// entryBuf holds what a wire entry points to, so that an entry encoded
// from a buffer on the stack costs no allocation.
type entryBuf struct {
	custom, reason     string
	since, seen, until wire.Time
}

// entry is e as the protocol shows it: the one place a hub.Entry becomes a
// wire.Entry. The entry points into buf.
func (buf *entryBuf) entry(e *hub.Entry) wire.Entry {
	w := wire.Entry{ID: e.User, Status: wire.StatusDisabled}
	if e.Disabled {
		return w
	}
	w.Status, w.Text = e.Status.String(), e.Text
	if e.Custom != "" {
		buf.custom = e.Custom
		w.Custom = &buf.custom
	}
	if !e.Since.IsZero() {
		buf.since = wire.Time{Time: e.Since}
		w.Since = &buf.since
	}
	if !e.LastSeen.IsZero() {
		buf.seen = wire.Time{Time: e.LastSeen}
		w.LastSeen = &buf.seen
	}
	if !e.Until.IsZero() {
		buf.until = wire.Time{Time: e.Until}
		w.Until = &buf.until
	}
	if buf.reason = e.Reason.String(); buf.reason != "" {
		w.Reason = &buf.reason
	}
	return w
}

func self(s hub.Self) wire.Self {
	st := s.Status.String()
	if s.Disabled {
		st = wire.StatusDisabled
	}
	return wire.Self{Status: st, Manual: s.Manual.String(), Text: s.Text, Custom: optString(s.Custom),
		Until: wire.NewTime(s.Until), Reason: optString(s.Reason.String())}
}

func service(s hub.Service) wire.Service {
	w := wire.Service{State: "enabled", Connections: s.Connections, Edition: string(s.Edition)}
	if !s.Enabled {
		w.State = "disabled"
		w.Reason = optString(s.Reason)
	}
	if s.Limit > 0 {
		l := s.Limit
		w.Limit = &l
	}
	return w
}

func custom(c status.Custom) wire.CustomStatus {
	return wire.CustomStatus{ID: c.ID, Name: c.Name, Presence: c.Presence.String(), DurationS: optSeconds(c.Duration)}
}

func customs(cs []status.Custom) []wire.CustomStatus {
	out := make([]wire.CustomStatus, len(cs))
	for i, c := range cs {
		out[i] = custom(c)
	}
	return out
}

func limitPtr(n int) *int {
	if n <= 0 {
		return nil
	}
	return &n
}

// encodeMessage encodes a hub message for the connection of user ident.
//
// The answers to subscribe and query, the large frames of every connect,
// are appended to dst; the others are encoded on their own.
func encodeMessage(dst []byte, m hub.Message, ident identity, session string, heartbeat time.Duration) []byte {
	switch m := m.(type) {
	case *hub.Welcome:
		return wire.Encode(wire.Welcome{
			Type: wire.TypeWelcome, ID: m.RequestID, Session: session,
			User:        wire.User{ID: ident.ID, Name: ident.Name, Admin: ident.Admin},
			Service:     service(m.Service),
			Self:        self(m.Self),
			Statuses:    customs(m.Statuses),
			HeartbeatMS: heartbeat.Milliseconds(),
			IdleLimitMS: m.IdleLimit.Milliseconds(),
		})
	case *hub.Reply:
		if m.Err != nil {
			return encodeError(m.RequestID, m.Err.Code, m.Err.Message)
		}
		if es, ok := m.Result.(hub.Entries); ok {
			return encodeEntriesResult(dst, m.RequestID, es)
		}
		r, ok := result(m.RequestID, m.Result)
		if !ok {
			return encodeError(m.RequestID, wire.CodeInternal, fmt.Sprintf("the server cannot encode a %T", m.Result))
		}
		return wire.Encode(r)
	case *hub.ServiceChanged:
		s := service(m.Service)
		return wire.Encode(wire.ServiceEvent{Type: wire.TypeService, State: s.State, Reason: s.Reason, Connections: s.Connections, Limit: s.Limit})
	case *hub.StatusesChanged:
		return wire.Encode(wire.StatusesEvent{Type: wire.TypeStatuses, Op: string(m.Op), Status: custom(m.Status)})
	case *hub.Notice:
		return wire.Encode(wire.Notice{Type: wire.TypeNotice, Level: string(m.Level), Code: m.Code, Message: m.Message,
			Connections: m.Connections, Limit: limitPtr(m.Limit)})
	}
	// Only a hub message this encoder has not learnt: the client learns
	// that something went wrong rather than the connection dying.
	return encodeError("", wire.CodeInternal, fmt.Sprintf("the server cannot encode a %T", m))
}

// result encodes r, and reports false for a result type it does not know.
// Entries, the result of every connect, are encoded by hand instead (see
// encodeEntriesResult).
func result(id string, r hub.Result) (wire.Result, bool) {
	w := wire.Result{Type: wire.TypeResult, ID: id, OK: true}
	switch r := r.(type) {
	case nil:
	case hub.SelfResult:
		s := self(r.Self)
		w.Self = &s
	case hub.PrefsResult:
		s := self(r.Self)
		w.Self = &s
		w.Prefs = &wire.Prefs{IdleLimitS: int(r.IdleLimit / time.Second), AutoAway: r.AutoAway}
	case hub.StatusResult:
		c := custom(r.Status)
		w.Status = &c
	case hub.StatusPage:
		items := customs(r.Items)
		w.Items, w.Total = &items, &r.Total
	case hub.ServiceResult:
		s := service(r.Service)
		w.Service = &s
	case hub.Stats:
		s := service(r.Service)
		w.Service = &s
		w.Stats = &wire.Stats{Connections: r.Service.Connections, Peak: r.Peak, UsersOnline: r.UsersOnline,
			Limit: limitPtr(r.Service.Limit), Edition: string(r.Service.Edition), ServiceSince: wire.NewTime(r.Service.Since)}
	case hub.SettingsResult:
		w.Settings = &wire.Settings{IdleLimitS: int(r.IdleLimit / time.Second)}
	case hub.HistoryResult:
		items := make([]wire.HistoryItem, len(r.Items))
		for i, t := range r.Items {
			items[i] = wire.HistoryItem{At: wire.Time{Time: t.At}, Status: t.Status.String(),
				Previous: t.Previous.String(), Text: t.Text, Reason: t.Reason.String()}
		}
		w.Items = &items
	default:
		return w, false
	}
	return w, true
}

// protocolError is err as an error frame tells it: the *wire.Error the
// decoder returns, or, should any other error come, bad_request with its
// text.
func protocolError(err error) *wire.Error {
	if we, ok := errors.AsType[*wire.Error](err); ok {
		return we
	}
	return wire.Errorf(wire.CodeBadRequest, "%s", err)
}

func encodeError(id, code, msg string) []byte {
	return wire.Encode(wire.ErrorFrame{Type: wire.TypeError, ID: id, Code: code, Message: msg})
}

// encodePresence encodes the presence frame of es, by hand: it is the
// frame every subscriber gets on every flush.
func encodePresence(b []byte, es []hub.Entry) []byte {
	b = slices.Grow(b, 64+len(es)*192)
	b = append(b, `{"type":"presence","users":`...)
	b = appendEntries(b, es)
	return append(b, '}')
}

// encodeEntriesResult encodes the result of subscribe and query, as
// wire.Encode(result(id, es)) would, by hand: every connect has one.
func encodeEntriesResult(b []byte, id string, es []hub.Entry) []byte {
	b = slices.Grow(b, 64+len(id)+len(es)*192)
	b = append(b, `{"type":"result"`...)
	if id != "" {
		b = append(b, `,"id":`...)
		b = wire.AppendString(b, id)
	}
	b = append(b, `,"ok":true,"users":`...)
	b = appendEntries(b, es)
	return append(b, '}')
}

// appendEntries appends es as a JSON array of wire entries.
func appendEntries(b []byte, es []hub.Entry) []byte {
	b = append(b, '[')
	var buf entryBuf
	for i := range es {
		if i > 0 {
			b = append(b, ',')
		}
		w := buf.entry(&es[i])
		b = wire.AppendEntry(b, &w)
	}
	return append(b, ']')
}
