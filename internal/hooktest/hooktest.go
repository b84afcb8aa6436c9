// Package hooktest is a real local webhook receiver for the end-to-end
// tests of presenced's webhooks: an httptest server that checks every
// batch's Standard Webhooks signature, as a backend would, and hands the
// batches to the test in the order they arrived.
//
// A Receiver is safe for concurrent use; its server closes when the test
// ends.
package hooktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/presenced/presenced/webhook"
)

// Secret is a -webhook-secret for the tests: whsec_ and 24 base64 bytes.
const Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// Event is one event of a batch, all types' fields together.
type Event struct {
	Type     string  `json:"type"`
	ID       string  `json:"id"`
	User     string  `json:"user"`
	Status   string  `json:"status"`
	Previous string  `json:"previous"`
	Text     string  `json:"text"`
	Reason   *string `json:"reason"`
	At       string  `json:"at"`
	Seq      uint64  `json:"seq"`
	State    string  `json:"state"`
}

// Why is e's reason, "" for null.
func (e Event) Why() string {
	if e.Reason == nil {
		return ""
	}
	return *e.Reason
}

// Batch is one POST as the receiver got it.
type Batch struct {
	ID     string    // webhook-id
	Sender string    // the node part of the webhook-id: msg_<sender>_<n>
	At     time.Time // when it arrived
	Type   string    `json:"type"`
	Events []Event   `json:"events"`
}

// Receiver records the batches POSTed to URL and answers them 204. Its
// server takes them on its goroutines; the test reads them on its own.
type Receiver struct {
	URL     string
	batches chan Batch

	// Read by the test's goroutine only.
	pending []Event // the rest of the batch of, not yet taken
	of      Batch
}

// New starts a receiver that fails t on any request that is not a POST
// of a batch signed with Secret.
func New(t testing.TB) *Receiver {
	key, err := webhook.Key(Secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{batches: make(chan Batch, 1000)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		b := Batch{ID: req.Header.Get(webhook.HeaderID), At: time.Now()}
		if err := verify(key, req.Header, body); err != nil {
			t.Errorf("receiver: %v", err)
		}
		if err := json.Unmarshal(body, &b); err != nil {
			t.Errorf("receiver: body is not a batch: %v: %s", err, body)
		}
		if parts := strings.Split(b.ID, "_"); len(parts) == 3 && parts[0] == "msg" {
			b.Sender = parts[1]
		} else {
			t.Errorf("receiver: webhook-id %q is not msg_<node>_<n>", b.ID)
		}
		r.batches <- b
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hooks/presence"
	return r
}

// verify checks a request's signature with the package's own signer.
func verify(key []byte, h http.Header, body []byte) error {
	id, ts := h.Get(webhook.HeaderID), h.Get(webhook.HeaderTimestamp)
	unix, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil {
		return fmt.Errorf("webhook-id %q, webhook-timestamp %q: want an id and unix seconds", id, ts)
	}
	if d := time.Since(time.Unix(unix, 0)); d > time.Minute || d < -time.Minute {
		return fmt.Errorf("webhook-timestamp %s is %v from now", ts, d)
	}
	if got, want := h.Get(webhook.HeaderSignature), webhook.Sign(key, id, time.Unix(unix, 0), body); got != want {
		return fmt.Errorf("webhook-signature %q, want %q", got, want)
	}
	return nil
}

// Next waits up to timeout for the next event and returns it with its
// batch.
func (r *Receiver) Next(t testing.TB, timeout time.Duration) (Event, Batch) {
	t.Helper()
	for len(r.pending) == 0 {
		select {
		case b := <-r.batches:
			r.pending, r.of = b.Events, b
		case <-time.After(timeout):
			t.Fatalf("no webhook event within %v", timeout)
		}
	}
	e := r.pending[0]
	r.pending = r.pending[1:]
	return e, r.of
}

// Until waits up to timeout for a presence event of user with status, and
// returns it, its batch, and the events that came before it.
func (r *Receiver) Until(t testing.TB, user, status string, timeout time.Duration) (Event, Batch, []Event) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var before []Event
	for {
		e, b := r.Next(t, time.Until(deadline))
		if e.Type == webhook.TypePresence && e.User == user && e.Status == status {
			return e, b, before
		}
		before = append(before, e)
	}
}

// None fails t if an event arrived that has not been taken.
func (r *Receiver) None(t testing.TB) {
	t.Helper()
	select {
	case b := <-r.batches:
		r.pending = append(r.pending, b.Events...)
	default:
	}
	if len(r.pending) > 0 {
		t.Fatalf("unexpected webhook events: %+v", r.pending)
	}
}
