package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/presenced/presenced/internal/hooktest"
	"github.com/presenced/presenced/internal/testproc"
	"github.com/presenced/presenced/internal/wstest"
)

// startHooked runs a -dev presenced that posts its webhooks to r every
// interval, and returns it and its address.
func startHooked(t *testing.T, r *hooktest.Receiver, interval time.Duration, args ...string) (*testproc.Proc, string) {
	t.Helper()
	return start(t, append([]string{"-dev", "-data", t.TempDir(), "-webhook-url", r.URL,
		"-webhook-secret", hooktest.Secret, "-webhook-interval", interval.String()}, args...)...)
}

func connectDev(t *testing.T, addr, user string) *wstest.Client {
	t.Helper()
	return wstest.Connect(t, "ws://"+addr+"/ws", devToken(t, addr, user, false), 10*time.Second)
}

// checkPresence fails t unless e is user's change number seq to status
// from previous because of reason.
func checkPresence(t *testing.T, e hooktest.Event, user, status, previous, reason string, seq uint64) {
	t.Helper()
	if e.Type != "presence.changed" || e.User != user || e.Status != status || e.Previous != previous ||
		e.Why() != reason || e.Seq != seq || e.ID == "" || e.At == "" {
		t.Errorf("event = %+v (reason %q), want presence.changed of %s %s -> %s, reason %s, seq %d",
			e, e.Why(), user, previous, status, reason, seq)
	}
}

func TestWebhookDelivers(t *testing.T) {
	r := hooktest.New(t)
	const interval = 300 * time.Millisecond
	p, addr := startHooked(t, r, interval, "-offline-grace", "0")
	if line := p.WaitOutput(t, "webhooks on", 5*time.Second); !strings.Contains(line, "interval=\x1b[0m300ms") ||
		!strings.Contains(line, "queue=\x1b[0m100000") || !strings.Contains(line, "host=\x1b[0m127.0.0.1:") ||
		strings.Contains(line, "/hooks") {
		t.Errorf("start-up line %q, want the receiver's host (not its path), the interval and the queue", line)
	}

	began := time.Now()
	alice := connectDev(t, addr, "alice")
	e, b, before := r.Until(t, "alice", "online", interval+time.Second)
	if len(before) > 0 {
		t.Errorf("events before alice's first: %+v", before)
	}
	checkPresence(t, e, "alice", "online", "offline", "connect", 1)
	if d := b.At.Sub(began); d > interval+time.Second {
		t.Errorf("first batch after %v, want within -webhook-interval + 1 s", d)
	}
	if b.Type != "presence.changed" {
		t.Errorf("batch type %q", b.Type)
	}

	set := time.Now()
	alice.OK(map[string]any{"type": "set_status", "status": "busy", "text": "Focus"})
	e, b, before = r.Until(t, "alice", "busy", interval+time.Second)
	if len(before) > 0 {
		t.Errorf("events between online and busy: %+v", before)
	}
	checkPresence(t, e, "alice", "busy", "online", "manual", 2)
	if e.Text != "Focus" {
		t.Errorf("text %q, want Focus", e.Text)
	}
	d := b.At.Sub(set)
	t.Logf("set_status to its webhook: %v with -webhook-interval %v", d, interval)
	if d > interval+time.Second {
		t.Errorf("busy arrived after %v, want within -webhook-interval + 1 s", d)
	}
}

func TestWebhookNoFlap(t *testing.T) {
	r := hooktest.New(t)
	const interval = 200 * time.Millisecond
	_, addr := startHooked(t, r, interval, "-offline-grace", "2s")
	alice := connectDev(t, addr, "alice")
	e, _, _ := r.Until(t, "alice", "online", interval+time.Second)
	checkPresence(t, e, "alice", "online", "offline", "connect", 1)

	// A reload: the socket closes and a new one opens within the grace.
	alice.WS.Close(websocket.StatusNormalClosure, "")
	alice = connectDev(t, addr, "alice")
	// The next change is the next event: nothing went out for the reload.
	alice.OK(map[string]any{"type": "set_status", "status": "away"})
	e, _, before := r.Until(t, "alice", "away", interval+time.Second)
	if len(before) > 0 {
		t.Errorf("the reload within the grace sent %+v", before)
	}
	checkPresence(t, e, "alice", "away", "online", "manual", 2)

	// bye skips the grace: offline at once.
	alice.OK(map[string]any{"type": "bye"})
	alice.WS.Close(websocket.StatusNormalClosure, "")
	e, _, before = r.Until(t, "alice", "offline", interval+time.Second)
	if len(before) > 0 {
		t.Errorf("events before offline: %+v", before)
	}
	checkPresence(t, e, "alice", "offline", "away", "disconnect", 3)
}

func TestWebhookFlushOnSIGTERM(t *testing.T) {
	r := hooktest.New(t)
	// An interval no test waits out: only the flush sends.
	p, addr := startHooked(t, r, time.Hour, "-offline-grace", "0")
	alice := connectDev(t, addr, "alice")
	alice.OK(map[string]any{"type": "set_status", "status": "busy"})
	r.None(t)

	began := time.Now()
	p.Cmd.Process.Signal(syscall.SIGTERM)
	e, _, _ := r.Until(t, "alice", "online", 5*time.Second)
	checkPresence(t, e, "alice", "online", "offline", "connect", 1)
	e, _, _ = r.Until(t, "alice", "busy", 5*time.Second)
	checkPresence(t, e, "alice", "busy", "online", "manual", 2)
	if err := p.Wait(); err != nil {
		t.Errorf("exit: %v, want status 0", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("took %v to flush and exit, want under 5 s", d)
	}
	if !strings.Contains(p.Output(), "shutting down") || strings.Contains(p.Output(), "still queued at shutdown") {
		t.Errorf("events lost at shutdown:\n%s", p.Output())
	}
}

func TestWebhookBadConfig(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-webhook-url", "http://127.0.0.1:1/hooks"}, "-webhook-secret is required"},
		{[]string{"-webhook-secret", hooktest.Secret}, "-webhook-url is required"},
		{[]string{"-webhook-url", "ftp://127.0.0.1/hooks", "-webhook-secret", hooktest.Secret}, "http or https"},
		{[]string{"-webhook-url", "http://127.0.0.1:1/hooks", "-webhook-secret", "short"}, "32 characters or more"},
		{[]string{"-webhook-url", "http://127.0.0.1:1/hooks", "-webhook-secret", hooktest.Secret, "-webhook-queue", "-1"}, "-webhook-queue"},
	} {
		out, code := runCheckConfig(t, nil, append([]string{"-dev", "-data", t.TempDir()}, tt.args...)...)
		if code != 1 || !strings.Contains(out, "fail  -webhook") || !strings.Contains(out, tt.want) {
			t.Errorf("-check-config %v: exit %d, output %q; want 1 and a fail line with %q", tt.args, code, out, tt.want)
		}
	}
	// Not only -check-config: the server itself refuses to start.
	cmd := exec.Command(binary, "-dev", "-data", t.TempDir(), "-addr", "127.0.0.1:0", "-admin-addr", "",
		"-webhook-url", "http://127.0.0.1:1/hooks")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "-webhook-secret is required") {
		t.Errorf("start with a URL and no secret: %v, %q; want a refusal saying so", err, out)
	}
	out, code := runCheckConfig(t, []string{"PRESENCE_WEBHOOK_URL=http://127.0.0.1:1/hooks", "PRESENCE_WEBHOOK_SECRET=" + hooktest.Secret},
		"-dev", "-data", t.TempDir())
	if code != 0 {
		t.Errorf("-check-config with webhooks from the environment: exit %d, output %q", code, out)
	}
}

// The sender's metrics are on the admin listener, lint clean.
func TestWebhookMetrics(t *testing.T) {
	r := hooktest.New(t)
	checkMetrics(t, []string{"presence_webhook_sender 1", "presence_webhook_queue_events ",
		"presence_webhook_oldest_event_age_seconds ", "presence_webhook_events_delivered_total ",
		"presence_webhook_delivery_latency_seconds_bucket"},
		"-data", t.TempDir(), "-webhook-url", r.URL, "-webhook-secret", hooktest.Secret)
}
