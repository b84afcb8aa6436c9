package webhook_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/presenced/presenced/internal/testproc"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/webhook"
)

// TestDelivery checks one batch as a receiver sees it: the protocol's JSON
// shape for every event type, and a signature that verifies.
func TestDelivery(t *testing.T) {
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	r := newReceiver(t, nil)
	h := start(t, r.srv.URL, webhook.Config{Secret: whsec})
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	h.s.PresenceChanged(webhook.PresenceChange{User: "alice", Status: presence.Busy, Previous: presence.Online,
		Text: "In a meeting", Custom: "c1", Until: at.Add(time.Hour), Reason: "manual", At: at})
	h.s.PresenceChanged(webhook.PresenceChange{User: "bob", Status: presence.Online, Previous: presence.Offline,
		Reason: "connect", At: at.Add(1500 * time.Millisecond)})
	h.s.ServiceChanged(webhook.ServiceChange{Enabled: false, Reason: "connection_limit", At: at})
	h.s.ServiceChanged(webhook.ServiceChange{Enabled: true, At: at})
	h.s.StatusesChanged(webhook.StatusesChange{Op: webhook.OpCreated, At: at,
		Status: webhook.CustomStatus{ID: "c2", Name: "Lunch", Presence: presence.Away, Duration: time.Hour}})
	h.s.StatusesChanged(webhook.StatusesChange{Op: webhook.OpDeleted, At: at,
		Status: webhook.CustomStatus{ID: "c1", Name: "In a meeting", Presence: presence.Busy}})

	if d := h.clock.Armed(t, 1)[0]; d != time.Second {
		t.Fatalf("the first batch waits %v, want the 1 s interval", d)
	}
	r.none(t)
	h.clock.Advance(time.Second)
	p := r.next(t)

	key, err := webhook.Key(whsec)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, key, p)
	if ct := p.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if id := p.header.Get("webhook-id"); !strings.HasPrefix(id, "msg_") {
		t.Errorf("webhook-id %q, want msg_...", id)
	}
	if p.batch.Type != "presence.changed" {
		t.Errorf("batch type %q, want presence.changed", p.batch.Type)
	}
	ids := map[string]bool{}
	for _, e := range p.batch.Events {
		id, _ := e["id"].(string)
		if !strings.HasPrefix(id, "evt_") || ids[id] {
			t.Errorf("event id %q: want a unique evt_...", id)
		}
		ids[id] = true
		delete(e, "id")
	}
	var want []map[string]any
	if err := json.Unmarshal([]byte(`[
{"type":"presence.changed","user":"alice","status":"busy","previous":"online","text":"In a meeting","custom":"c1",
 "until":"2026-12-01T10:30:00Z","reason":"manual","at":"2026-12-01T09:30:00Z","seq":1},
{"type":"presence.changed","user":"bob","status":"online","previous":"offline","text":"","custom":null,
 "until":null,"reason":"connect","at":"2026-12-01T09:30:01.5Z","seq":1},
{"type":"service.changed","state":"disabled","reason":"connection_limit","at":"2026-12-01T09:30:00Z"},
{"type":"service.changed","state":"enabled","reason":null,"at":"2026-12-01T09:30:00Z"},
{"type":"statuses.changed","op":"created","status":{"id":"c2","name":"Lunch","presence":"away","duration_s":3600},"at":"2026-12-01T09:30:00Z"},
{"type":"statuses.changed","op":"deleted","status":{"id":"c1","name":"In a meeting","presence":"busy","duration_s":null},"at":"2026-12-01T09:30:00Z"}
]`), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.batch.Events, want) {
		got, _ := json.MarshalIndent(p.batch.Events, "", " ")
		t.Errorf("events:\n%s", got)
	}
}

// TestBatchTypeWithoutPresence: a batch of catalog changes only is typed by
// its events.
func TestBatchTypeWithoutPresence(t *testing.T) {
	r := newReceiver(t, nil)
	h := start(t, r.srv.URL, webhook.Config{})
	h.s.StatusesChanged(webhook.StatusesChange{Op: webhook.OpUpdated, Status: webhook.CustomStatus{ID: "c", Name: "x"}})
	h.clock.AdvanceArmed(t)
	if p := r.next(t); p.batch.Type != "statuses.changed" {
		t.Fatalf("batch type %q, want statuses.changed", p.batch.Type)
	}
}

// TestBatching: 500 queued events go at once; fewer wait for the interval.
func TestBatching(t *testing.T) {
	r := newReceiver(t, nil)
	h := start(t, r.srv.URL, webhook.Config{})
	for i := range 1200 {
		h.s.PresenceChanged(change(fmt.Sprint("u", i), "online"))
	}
	var users []string
	for _, want := range []int{500, 500} {
		p := r.next(t)
		if len(p.batch.Events) != want {
			t.Fatalf("a batch of %d events, want %d", len(p.batch.Events), want)
		}
		for _, e := range p.batch.Events {
			users = append(users, e["user"].(string))
		}
	}
	if d := h.clock.Armed(t, 1)[0]; d != time.Second {
		t.Fatalf("the last 200 wait %v, want 1 s", d)
	}
	r.none(t)
	h.clock.Advance(time.Second)
	p := r.next(t)
	if len(p.batch.Events) != 200 {
		t.Fatalf("a batch of %d events, want 200", len(p.batch.Events))
	}
	for _, e := range p.batch.Events {
		users = append(users, e["user"].(string))
	}
	for i, u := range users {
		if u != fmt.Sprint("u", i) {
			t.Fatalf("event %d is of %s: out of order", i, u)
		}
	}
}

// TestOrderAndSeq: per user, events arrive in order with seq going up by
// one per change, across batches; every event id is unique.
func TestOrderAndSeq(t *testing.T) {
	r := newReceiver(t, nil)
	h := start(t, r.srv.URL, webhook.Config{Batch: 3})
	statuses := []string{"online", "away", "busy", "online", "offline"}
	for _, st := range statuses {
		h.s.PresenceChanged(change("alice", st))
		h.s.PresenceChanged(change("bob", st))
	}
	seqs := map[string][]float64{}
	got := map[string][]string{}
	ids := map[string]bool{}
	for n := 0; n < 10; {
		h.clock.Advance(time.Second) // a partial last batch waits for it
		p := r.next(t)
		for _, e := range p.batch.Events {
			u := e["user"].(string)
			seqs[u] = append(seqs[u], e["seq"].(float64))
			got[u] = append(got[u], e["status"].(string))
			if id := e["id"].(string); ids[id] {
				t.Errorf("event id %s twice", id)
			} else {
				ids[id] = true
			}
			n++
		}
	}
	for _, u := range []string{"alice", "bob"} {
		if want := []float64{1, 2, 3, 4, 5}; !reflect.DeepEqual(seqs[u], want) {
			t.Errorf("%s: seq %v, want %v", u, seqs[u], want)
		}
		if !reflect.DeepEqual(got[u], statuses) {
			t.Errorf("%s: statuses %v, want %v", u, got[u], statuses)
		}
	}
}

// TestRetrySameBatch: a failed batch is retried after backoff with the same
// webhook-id and body, a fresh timestamp and a signature that verifies; a
// batch retried past RetryFor is dropped and counted, and the next goes on.
func TestRetrySameBatch(t *testing.T) {
	r := newReceiver(t, func(n int) int {
		if n <= 5 {
			return []int{500, 503, 429, 404, 500}[n-1]
		}
		return http.StatusOK
	})
	h := start(t, r.srv.URL, webhook.Config{RetryFor: 10 * time.Second})
	h.s.PresenceChanged(change("alice", "busy"))
	// Rand is 0.5: 1 s + half of (2 s, 4 s, 8 s) - 1 s, then what is left
	// of the 10 s.
	wantWaits := []time.Duration{time.Second, 1500 * time.Millisecond, 2500 * time.Millisecond, 4500 * time.Millisecond, 1500 * time.Millisecond}
	var first post
	var stamps []string
	for i, want := range wantWaits {
		if d := h.clock.AdvanceArmed(t); d != want {
			t.Errorf("wait %d: %v, want %v", i, d, want)
		}
		p := r.next(t)
		verify(t, []byte(secret), p)
		if i == 0 {
			first = p
		} else if p.header.Get("webhook-id") != first.header.Get("webhook-id") || string(p.body) != string(first.body) {
			t.Fatalf("retry %d: webhook-id %s body %s, want the first attempt's %s %s",
				i, p.header.Get("webhook-id"), p.body, first.header.Get("webhook-id"), first.body)
		}
		stamps = append(stamps, p.header.Get("webhook-timestamp"))
	}
	for i := 1; i < len(stamps); i++ {
		if stamps[i] <= stamps[i-1] {
			t.Errorf("timestamps %v: not fresh on each retry", stamps)
		}
	}
	// Given up after 10 s: the next change goes in a new batch.
	h.s.PresenceChanged(change("bob", "online"))
	h.clock.AdvanceArmed(t)
	p := r.next(t)
	if p.header.Get("webhook-id") == first.header.Get("webhook-id") || p.batch.Events[0]["user"] != "bob" {
		t.Fatalf("after giving up: %s %s", p.header.Get("webhook-id"), p.body)
	}
	h.stop()
	h.wait(t)
	for _, m := range []struct {
		name, label string
		want        float64
	}{
		{"presence_webhook_attempts_total", "status", 5},
		{"presence_webhook_attempts_total", "ok", 1},
		{"presence_webhook_deliveries_total", "expired", 1},
		{"presence_webhook_deliveries_total", "delivered", 1},
		{"presence_webhook_events_dropped_total", "expired", 1},
		{"presence_webhook_events_delivered_total", "", 1},
		{"presence_webhook_delivery_latency_seconds", "", 1},
	} {
		if got := h.metric(t, m.name, m.label); got != m.want {
			t.Errorf("%s{%s} = %v, want %v", m.name, m.label, got, m.want)
		}
	}
	if strings.Count(h.logs.String(), "webhook not delivered") != 4 || strings.Count(h.logs.String(), "webhook batch dropped") != 1 {
		t.Errorf("logs:\n%s", h.logs.String())
	}
}

// TestBackoffBounds: waits between attempts stay within 1 s and 5 min.
func TestBackoffBounds(t *testing.T) {
	for _, tt := range []struct {
		rand     float64
		min, max time.Duration
	}{{0, time.Second, time.Second}, {0.999999, time.Second, 5 * time.Minute}} {
		r := newReceiver(t, func(int) int { return 500 })
		h := start(t, r.srv.URL, webhook.Config{Rand: func() float64 { return tt.rand }})
		h.s.PresenceChanged(change("alice", "busy"))
		h.clock.AdvanceArmed(t) // the interval
		var last time.Duration
		for range 12 {
			r.next(t)
			last = h.clock.AdvanceArmed(t)
			if last < tt.min || last > tt.max {
				t.Fatalf("rand %v: wait %v outside [%v, %v]", tt.rand, last, tt.min, tt.max)
			}
		}
		if last < tt.max-time.Second {
			t.Errorf("rand %v: the 12th wait is %v, want about %v", tt.rand, last, tt.max)
		}
		h.runOut(t, webhook.DefaultFlushTimeout)
	}
}

// TestRetryOnFailures: a refused connection, a receiver slower than the
// timeout and a redirect (never followed) each count as a failed attempt
// that is retried.
func TestRetryOnFailures(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		url := "http://" + testproc.FreeAddr(t) + "/hook" // nothing listens there
		h := start(t, url, webhook.Config{})
		h.s.PresenceChanged(change("alice", "busy"))
		h.clock.AdvanceArmed(t)
		if d := h.clock.Armed(t, 1)[0]; d != 1500*time.Millisecond {
			t.Fatalf("retry in %v, want 1.5 s", d)
		}
		h.runOut(t, webhook.DefaultFlushTimeout)
		if got := h.metric(t, "presence_webhook_attempts_total", "error"); got < 2 {
			t.Errorf("%v failed attempts, want the first and one in the flush", got)
		}
		if got := h.metric(t, "presence_webhook_events_dropped_total", "shutdown"); got != 1 {
			t.Errorf("dropped at shutdown: %v, want 1", got)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer slow.Close()
		defer close(release)
		h := start(t, slow.URL, webhook.Config{Timeout: 50 * time.Millisecond})
		h.s.PresenceChanged(change("alice", "busy"))
		h.clock.AdvanceArmed(t)
		if d := h.clock.Armed(t, 1)[0]; d != 1500*time.Millisecond {
			t.Fatalf("retry in %v, want 1.5 s", d)
		}
		h.runOut(t, webhook.DefaultFlushTimeout)
		if got := h.metric(t, "presence_webhook_attempts_total", "timeout"); got < 1 {
			t.Errorf("%v timed-out attempts, want 1 or more", got)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		elsewhere := newReceiver(t, nil)
		redirect := httptest.NewServer(http.RedirectHandler(elsewhere.srv.URL, http.StatusTemporaryRedirect))
		defer redirect.Close()
		h := start(t, redirect.URL, webhook.Config{})
		h.s.PresenceChanged(change("alice", "busy"))
		h.clock.AdvanceArmed(t)
		if d := h.clock.Armed(t, 1)[0]; d != 1500*time.Millisecond {
			t.Fatalf("retry in %v, want 1.5 s", d)
		}
		h.runOut(t, webhook.DefaultFlushTimeout)
		elsewhere.none(t)
		if got := h.metric(t, "presence_webhook_attempts_total", "status"); got < 1 {
			t.Errorf("%v attempts answered 3xx, want 1 or more", got)
		}
	})
}

// TestQueueBound: past the bound the oldest events go, counted, and logged
// at most once a minute.
func TestQueueBound(t *testing.T) {
	r := newReceiver(t, nil)
	h := start(t, r.srv.URL, webhook.Config{Queue: 5})
	for range 8 {
		h.s.PresenceChanged(change("alice", "online"))
	}
	h.clock.AdvanceArmed(t)
	p := r.next(t)
	var seqs []float64
	for _, e := range p.batch.Events {
		seqs = append(seqs, e["seq"].(float64))
	}
	if want := []float64{4, 5, 6, 7, 8}; !reflect.DeepEqual(seqs, want) {
		t.Fatalf("seq %v, want the newest five %v", seqs, want)
	}
	if got := strings.Count(h.logs.String(), "webhook queue full"); got != 1 {
		t.Fatalf("%d queue-full logs for 3 drops within a minute, want 1", got)
	}
	h.clock.Advance(time.Minute)
	for range 6 {
		h.s.PresenceChanged(change("bob", "online"))
	}
	if got := strings.Count(h.logs.String(), "webhook queue full"); got != 2 {
		t.Fatalf("%d queue-full logs after a minute more, want 2", got)
	}
	h.clock.Armed(t, 1) // the first batch is done with: bob's wait for the interval
	if got := h.metric(t, "presence_webhook_events_dropped_total", "queue_full"); got != 4 {
		t.Fatalf("dropped %v, want 4", got)
	}
	if got := h.metric(t, "presence_webhook_queue_events", ""); got != 5 {
		t.Fatalf("queue depth %v, want 5", got)
	}
}

// TestNeverBlocks: with a batch stuck at the receiver, changes are still
// taken at once; the queue holds its bound and the oldest go.
func TestNeverBlocks(t *testing.T) {
	inFlight, release := make(chan struct{}), make(chan struct{})
	r := newReceiver(t, func(n int) int {
		if n == 1 {
			close(inFlight)
			<-release
		}
		return http.StatusNoContent
	})
	h := start(t, r.srv.URL, webhook.Config{Queue: 100})
	h.s.PresenceChanged(change("alice", "online"))
	h.clock.AdvanceArmed(t)
	<-inFlight
	h.clock.Advance(3 * time.Second)
	for i := range 1000 {
		h.s.PresenceChanged(change(fmt.Sprint("u", i), "online"))
	}
	if got := h.metric(t, "presence_webhook_queue_events", ""); got != 101 {
		t.Errorf("queue depth %v, want 100 queued + 1 in flight", got)
	}
	if got := h.metric(t, "presence_webhook_oldest_event_age_seconds", ""); got != 4 {
		t.Errorf("oldest event's age %v s, want 4 (the one in flight)", got)
	}
	if got := h.metric(t, "presence_webhook_events_dropped_total", "queue_full"); got != 900 {
		t.Errorf("dropped %v, want 900", got)
	}
	close(release)
	r.next(t)
	// The backlog of 100 is not a full batch: it waits for the interval.
	if d := h.clock.AdvanceArmed(t); d != time.Second {
		t.Errorf("the backlog waits %v, want 1 s", d)
	}
	if p := r.next(t); len(p.batch.Events) != 100 || p.batch.Events[0]["user"] != "u900" {
		t.Fatalf("after the stuck batch: %d events from %v, want 100 from u900", len(p.batch.Events), p.batch.Events[0]["user"])
	}
}

// TestFlushOnShutdown: when Run's context ends, what is queued goes at once,
// without waiting for the interval; what cannot go within the flush timeout
// is dropped and counted.
func TestFlushOnShutdown(t *testing.T) {
	t.Run("delivered", func(t *testing.T) {
		r := newReceiver(t, nil)
		h := start(t, r.srv.URL, webhook.Config{})
		for _, u := range []string{"alice", "bob", "carol"} {
			h.s.PresenceChanged(change(u, "offline"))
		}
		h.clock.Armed(t, 1) // waiting for the interval
		h.stop()
		if p := r.next(t); len(p.batch.Events) != 3 {
			t.Fatalf("flushed %d events, want 3", len(p.batch.Events))
		}
		h.wait(t)
		if got := h.metric(t, "presence_webhook_events_delivered_total", ""); got != 3 {
			t.Fatalf("delivered %v, want 3", got)
		}
		h.s.PresenceChanged(change("dave", "online"))
		if got := h.metric(t, "presence_webhook_queue_events", ""); got != 0 {
			t.Fatalf("a change after Run is queued (%v) for nobody to send", got)
		}
	})
	t.Run("given up", func(t *testing.T) {
		r := newReceiver(t, func(int) int { return 500 })
		h := start(t, r.srv.URL, webhook.Config{Batch: 2})
		for _, u := range []string{"alice", "bob", "carol"} {
			h.s.PresenceChanged(change(u, "offline"))
		}
		r.next(t) // alice and bob, failing
		h.runOut(t, webhook.DefaultFlushTimeout)
		if got := h.metric(t, "presence_webhook_events_dropped_total", "shutdown"); got != 3 {
			t.Fatalf("dropped at shutdown %v, want 3", got)
		}
		if got := h.metric(t, "presence_webhook_queue_events", ""); got != 0 {
			t.Fatalf("queue depth %v after Run, want 0", got)
		}
	})
}
