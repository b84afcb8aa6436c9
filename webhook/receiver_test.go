package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/presenced/presenced/internal/testlog"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/webhook"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// secret is a non-whsec_ secret: its UTF-8 bytes are the key.
const secret = "a-webhook-secret-of-32-characters-or-more"

// post is one request the receiver got.
type post struct {
	header http.Header
	body   []byte
	batch  batchJSON
}

type batchJSON struct {
	Type   string           `json:"type"`
	Events []map[string]any `json:"events"`
}

// receiver is a real local HTTP server that records every POST and answers
// each with the status its answer function gives for the attempt (1-based).
type receiver struct {
	srv   *httptest.Server
	posts chan post

	mu     sync.Mutex
	n      int
	answer func(n int) int
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{posts: make(chan post, 1000), answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		p := post{header: req.Header.Clone(), body: body}
		if err := json.Unmarshal(body, &p.batch); err != nil {
			t.Errorf("receiver: body is not a batch: %v: %s", err, body)
		}
		r.mu.Lock()
		r.n++
		code := http.StatusNoContent
		if r.answer != nil {
			code = r.answer(r.n)
		}
		r.mu.Unlock()
		r.posts <- p
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// next waits for the next POST.
func (r *receiver) next(t *testing.T) post {
	t.Helper()
	select {
	case p := <-r.posts:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no POST within 10 s")
	}
	return post{}
}

// none checks that no POST arrived.
func (r *receiver) none(t *testing.T) {
	t.Helper()
	select {
	case p := <-r.posts:
		t.Fatalf("unexpected POST: %s", p.body)
	default:
	}
}

// verify checks p's signature as a receiver would, with key.
func verify(t *testing.T, key []byte, p post) {
	t.Helper()
	id, ts := p.header.Get("webhook-id"), p.header.Get("webhook-timestamp")
	if id == "" || ts == "" {
		t.Fatalf("missing webhook-id or webhook-timestamp: %v", p.header)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatalf("webhook-timestamp %q is not unix seconds", ts)
	}
	want := webhook.Sign(key, id, time.Unix(unix, 0), p.body)
	if got := p.header.Get("webhook-signature"); got != want {
		t.Fatalf("webhook-signature %q, want %q", got, want)
	}
}

// harness runs one Sender under a fake clock.
type harness struct {
	s     *webhook.Sender
	clock *fakeClock
	reg   *prometheus.Registry
	logs  *testlog.Buffer
	stop  context.CancelFunc
	done  chan error
}

// start runs a Sender posting to url; cfg's URL, Secret, Clock, Rand,
// Registerer and Log are filled in unless set.
func start(t *testing.T, url string, cfg webhook.Config) *harness {
	t.Helper()
	h := &harness{clock: newFakeClock(), reg: prometheus.NewRegistry(), logs: &testlog.Buffer{}, done: make(chan error, 1)}
	cfg.URL = url
	if cfg.Secret == "" {
		cfg.Secret = secret
	}
	if cfg.Clock == nil {
		cfg.Clock = h.clock
	}
	if cfg.Rand == nil {
		cfg.Rand = func() float64 { return 0.5 }
	}
	cfg.Registerer, cfg.Log = h.reg, zerolog.New(h.logs)
	s, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { h.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of its context ending")
		}
	})
	return h
}

// wait waits for Run to return after stop.
func (h *harness) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		h.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

// runOut ends Run's context and moves the time on, a flush timeout at a
// time, until Run returns: a flush that cannot deliver gives up.
func (h *harness) runOut(t *testing.T, flush time.Duration) {
	t.Helper()
	h.stop()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-h.done:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			h.done <- nil
			return
		case <-h.clock.changed:
			h.clock.Advance(flush)
		case <-deadline:
			t.Fatal("Run did not return")
		}
	}
}

// metric is the value of the named counter or gauge with the given label
// value ("" for none), 0 when absent.
func (h *harness) metric(t *testing.T, name, label string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

// change is a presence change of user at the fake clock's time.
func change(user, status string) webhook.PresenceChange {
	st, _ := presence.ParseStatus(status)
	return webhook.PresenceChange{User: user, Status: st, Reason: "manual", At: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
}
