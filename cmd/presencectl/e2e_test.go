package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/presenced/presenced/web/wire"
)

// runCmd runs presencectl in this process and returns its exit status and
// output.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(testCtx(t), args, &o, &e)
	return code, o.String(), e.String()
}

// runLoadJSON runs load with -json and decodes its summary.
func runLoadJSON(t *testing.T, args ...string) (*loadSummary, string) {
	t.Helper()
	code, stdout, stderr := runCmd(t, append([]string{"load", "-json"}, args...)...)
	if code != 0 {
		t.Fatalf("load %q: exit %d\n%s", args, code, stderr)
	}
	var s loadSummary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("load -json printed %q: %v", stdout, err)
	}
	return &s, stderr
}

func TestLoadTripsConnectionLimit(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-dev", "-connection-limit", "5")
	s, human := runLoadJSON(t, "-url", srv.URL, "-n", "8", "-subscribe", "2", "-duration", "2s")
	if s.Connected != 8 || s.Failed != 0 || s.OpenAtEnd != 8 {
		t.Errorf("connected %d, failed %d %v, open at end %d; want 8, 0, 8", s.Connected, s.Failed, s.FailedBy, s.OpenAtEnd)
	}
	f := s.ServiceFinal
	if f == nil || f.State != "disabled" || f.Reason == nil || *f.Reason != "connection_limit" {
		t.Errorf("final service state %+v, want disabled by connection_limit", f)
	} else if f.Connections != 8 || f.Limit == nil || *f.Limit != 5 {
		t.Errorf("final service: %d connections, limit %v; want 8 of 5", f.Connections, f.Limit)
	}
	var sawEnabled bool
	for _, sv := range s.Service {
		sawEnabled = sawEnabled || sv.State == "enabled"
	}
	if !sawEnabled {
		t.Errorf("service states %+v: the first five connections were told enabled", s.Service)
	}
	if s.Events["service"] == 0 {
		t.Errorf("no service event: %v", s.Events)
	}
	for _, want := range []string{"connected        8", "disabled (connection_limit)", "service at end   disabled (connection_limit), up to 8 connections told, limit 5"} {
		if !strings.Contains(human, want) {
			t.Errorf("summary lacks %q:\n%s", want, human)
		}
	}
	if !regexp.MustCompile(`(?m)^presencectl: load +1s connected 8/8 .*service disabled \(connection_limit\)`).MatchString(human) {
		t.Errorf("no progress line after a second:\n%s", human)
	}
}

func TestLoadChurnMeasuresLatency(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-dev")
	s, human := runLoadJSON(t, "-url", srv.URL, "-n", "30", "-users", "20", "-subscribe", "5",
		"-churn", "1", "-duration", "3s", "-source-ips", "127.0.0.3-127.0.0.4")
	if s.Connected != 30 || s.Failed != 0 {
		t.Fatalf("connected %d, failed %d %v", s.Connected, s.Failed, s.FailedBy)
	}
	if s.ChangesSent == 0 || s.ChangesAcked == 0 {
		t.Errorf("changes sent %d, acked %d", s.ChangesSent, s.ChangesAcked)
	}
	p := s.PresenceLatency
	if p.Samples == 0 || p.P50ms <= 0 || p.P99ms < p.P50ms || p.P99ms > 2000 {
		t.Errorf("presence latency %+v, want samples and a sane p50 <= p99", p)
	}
	if a := s.AckLatency; a.Samples == 0 || int64(a.Samples) > s.ChangesAcked || a.P50ms <= 0 || a.P99ms < a.P50ms {
		t.Errorf("reply latency %+v with %d acknowledged, want samples and a sane p50 <= p99", a, s.ChangesAcked)
	}
	if s.Frames == 0 || s.Events["presence"] == 0 {
		t.Errorf("frames %d, events %v", s.Frames, s.Events)
	}
	// The server's presence frames and subscribe answers (one per
	// connection here) are read lean: none is decoded whole.
	if want := s.Events["presence"] + s.Connected; s.FramesLean < want {
		t.Errorf("%d frames read lean, want at least %d: the presence frames and the subscribe answers", s.FramesLean, want)
	}
	if len(s.SourceIPs) != 2 || s.SourceIPs[0] != "127.0.0.3" {
		t.Errorf("source addresses %v", s.SourceIPs)
	}
	if f := s.ServiceFinal; f == nil || f.State != "enabled" {
		t.Errorf("service %+v, want enabled", f)
	}
	if !strings.Contains(human, "presence latency") {
		t.Errorf("summary has no latency:\n%s", human)
	}
}

func TestLoadWithSecretSpreadsOverNodes(t *testing.T) {
	t.Parallel()
	const secret = "load-test-secret"
	a := startServer(t, "-jwt-secret", secret)
	b := startServer(t, "-jwt-secret", secret)
	s, _ := runLoadJSON(t, "-url", a.URL+","+b.URL, "-n", "10", "-secret", secret, "-duration", "1s")
	if s.Connected != 10 || s.Failed != 0 {
		t.Fatalf("connected %d, failed %d %v", s.Connected, s.Failed, s.FailedBy)
	}
	// Each node counts only its own connections (no shared store here).
	if f := s.ServiceFinal; f == nil || f.Connections > 5 {
		t.Errorf("final service %+v: each node should hold 5", f)
	}

	// A wrong secret fails every hello, and the run says so at once.
	start := time.Now()
	code, stdout, stderr := runCmd(t, "load", "-url", a.URL, "-n", "3", "-secret", "wrong", "-duration", "30s")
	if code != exitFail || !strings.Contains(stdout, "failed           3 (unauthorized 3)") ||
		!strings.Contains(stderr, "no connection succeeded") {
		t.Errorf("wrong secret: exit %d\n%s%s", code, stdout, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a run with nothing connected took %v", d)
	}
}

func TestLoadDevTokenNeedsDevMode(t *testing.T) {
	srv := startServer(t, "-jwt-secret", "x")
	t.Setenv(secretEnv, "")
	code, _, stderr := runCmd(t, "load", "-url", srv.URL, "-n", "2", "-duration", "5s")
	if code != exitFail || !strings.Contains(stderr, "-dev") {
		t.Errorf("exit %d, %q; want 1 and a hint about -dev", code, stderr)
	}
}

func TestAdminStats(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-dev", "-connection-limit", "7")
	code, stdout, stderr := runCmd(t, "stats", "-url", srv.URL)
	if code != 0 {
		t.Fatalf("stats: exit %d: %s", code, stderr)
	}
	for _, re := range []string{`(?m)^connections +1$`, `(?m)^limit +7$`, `(?m)^edition +free$`, `(?m)^service +enabled$`} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("stats output lacks %s:\n%s", re, stdout)
		}
	}

	code, stdout, stderr = runCmd(t, "stats", "-json", "-url", srv.URL)
	if code != 0 {
		t.Fatalf("stats -json: exit %d: %s", code, stderr)
	}
	var f wire.Frame
	if err := json.Unmarshal([]byte(stdout), &f); err != nil {
		t.Fatalf("stats -json printed %q: %v", stdout, err)
	}
	if f.Type != wire.TypeResult || f.Connections != 1 || f.Limit == nil || *f.Limit != 7 || f.Service == nil {
		t.Errorf("stats -json = %+v", f)
	}

	code, _, stderr = runCmd(t, "stats", "-url", srv.URL, "-admin=false")
	if code != exitFail || !strings.HasPrefix(stderr, "presencectl: forbidden: ") {
		t.Errorf("stats as a non-admin: exit %d, %q", code, stderr)
	}
}

func TestAdminWithSecret(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-jwt-secret", "admin-secret", "-edition", "enterprise")
	code, stdout, stderr := runCmd(t, "stats", "-url", srv.URL, "-secret", "admin-secret")
	if code != 0 {
		t.Fatalf("stats: exit %d: %s", code, stderr)
	}
	if !regexp.MustCompile(`(?m)^limit +none$`).MatchString(stdout) || !strings.Contains(stdout, "enterprise") {
		t.Errorf("enterprise stats:\n%s", stdout)
	}
	tok, err := mintToken("admin-secret", "root", "", true, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd(t, "stats", "-url", srv.URL, "-token", tok); code != 0 {
		t.Errorf("stats -token: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCmd(t, "stats", "-url", srv.URL, "-secret", "wrong")
	if code != exitFail || !strings.HasPrefix(stderr, "presencectl: ") {
		t.Errorf("wrong secret: exit %d, %q", code, stderr)
	}
}

func TestServiceOnOverLimit(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-dev", "-connection-limit", "3")
	ctx := testCtx(t)
	tr := newTransport(netip.Addr{})
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	// The first connection is an admin's, to hear when the count is back
	// under the limit; the fourth trips it.
	ready := make(chan struct{}, 1)
	onEvent := func(f *wire.Frame) {
		if f.Type == wire.TypeNotice && f.Code == "ready_to_enable" {
			ready <- struct{}{}
		}
	}
	var conns []*conn
	for i := range 4 {
		tok, err := fetchDevToken(ctx, hc, srv.URL, "u"+string(rune('a'+i)), i == 0)
		if err != nil {
			t.Fatal(err)
		}
		opts := dialOptions{HTTPClient: hc}
		if i == 0 {
			opts.OnEvent = onEvent
		}
		c, w, err := dial(ctx, srv.URL, tok, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		conns = append(conns, c)
		if i == 3 && (w.Service == nil || w.Service.State != "disabled") {
			t.Errorf("fourth welcome: service %+v, want disabled", w.Service)
		}
	}

	code, _, stderr := runCmd(t, "service", "on", "-url", srv.URL)
	if code != exitFail || !strings.HasPrefix(stderr, "presencectl: over_limit: ") {
		t.Errorf("service on over the limit: exit %d, %q; want 1 and over_limit", code, stderr)
	}

	for _, c := range conns[1:] {
		c.close()
	}
	select {
	case <-ready: // the admin's connection alone is left: 1 of 3
	case <-ctx.Done():
		t.Fatal("no ready_to_enable notice after the connections left")
	}
	code, stdout, stderr := runCmd(t, "service", "-url", srv.URL, "on")
	if code != 0 || !strings.HasPrefix(stdout, "service enabled") {
		t.Errorf("service on under the limit: exit %d, %q %q", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, "service", "off", "-url", srv.URL)
	if code != 0 || !strings.HasPrefix(stdout, "service disabled (admin)") {
		t.Errorf("service off: exit %d, %q", code, stdout)
	}
}

// testAPIKey is the API key of the servers these tests start with one.
const testAPIKey = "presencectl-test-key-0123456789abcdef"

// TestStatusesCommands runs the admin verbs over each transport: the
// socket, and the HTTP API with the API key.
func TestStatusesCommands(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"socket", "http"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, "-dev", "-api-key", testAPIKey)
			url, key := srv.URL, []string{}
			if transport == "http" {
				url, key = srv.HTTP, []string{"-api-key", testAPIKey}
			}
			run := func(args ...string) (int, string, string) {
				t.Helper()
				return runCmd(t, append(append(args, "-url", url), key...)...)
			}
			statusesCommands(t, run)
		})
	}
}

func statusesCommands(t *testing.T, runCmd func(args ...string) (int, string, string)) {
	code, stdout, stderr := runCmd("statuses", "create", "-name", "In a meeting", "-presence", "busy")
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, stderr)
	}
	id, rest, _ := strings.Cut(strings.TrimSpace(stdout), "\t")
	if id == "" || rest != "In a meeting\tbusy" {
		t.Fatalf("create printed %q", stdout)
	}
	if code, _, stderr := runCmd("statuses", "create", "-name", "in a MEETING", "-presence", "away"); code != exitFail ||
		!strings.HasPrefix(stderr, "presencectl: conflict: ") {
		t.Errorf("duplicate create: exit %d, %q", code, stderr)
	}
	runCmd("statuses", "create", "-name", "Lunch", "-presence", "away")

	code, stdout, _ = runCmd("statuses", "list", "-query", "MEET")
	if code != 0 || !strings.Contains(stdout, id) || strings.Contains(stdout, "Lunch") || !strings.Contains(stdout, "1 of 1") {
		t.Errorf("list -query MEET: exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = runCmd("statuses", "list", "-json")
	var f wire.Frame
	if code != 0 || json.Unmarshal([]byte(stdout), &f) != nil || f.Total != 2 || len(f.Items) != 2 || f.Items[0].Name != "In a meeting" {
		t.Errorf("list -json: exit %d: %s", code, stdout)
	}
	if code, stdout, stderr := runCmd("statuses", "update", "-id", id, "-name", "Meeting", "-presence", "busy"); code != 0 ||
		!strings.Contains(stdout, "Meeting\tbusy") {
		t.Errorf("update: exit %d, %q %q", code, stdout, stderr)
	}
	if code, _, stderr := runCmd("statuses", "delete", "-id", id); code != 0 {
		t.Errorf("delete: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCmd("statuses", "delete", "-id", id); code != exitFail ||
		!strings.HasPrefix(stderr, "presencectl: not_found: ") {
		t.Errorf("delete again: exit %d, %q", code, stderr)
	}
	if code, stdout, stderr := runCmd("settings", "-idle-limit", "2m"); code != 0 || !strings.Contains(stdout, "2m0s") {
		t.Errorf("settings: exit %d, %q %q", code, stdout, stderr)
	}
}

func TestStatsOverHTTP(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-dev", "-connection-limit", "7", "-api-key", testAPIKey)
	code, stdout, stderr := runCmd(t, "stats", "-url", srv.HTTP, "-api-key", testAPIKey)
	if code != 0 {
		t.Fatalf("stats: exit %d: %s", code, stderr)
	}
	for _, re := range []string{`(?m)^connections +0$`, `(?m)^limit +7$`, `(?m)^service +enabled$`} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("stats output lacks %s:\n%s", re, stdout)
		}
	}
	// A dev token over HTTP, when there is no key: a non-admin is refused.
	if code, _, stderr := runCmd(t, "stats", "-url", srv.HTTP, "-admin=false"); code != exitFail || !strings.HasPrefix(stderr, "presencectl: forbidden: ") {
		t.Errorf("stats as a non-admin over HTTP: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "service", "off", "-url", srv.URL, "-api-key", testAPIKey+"x"); code != exitFail || !strings.HasPrefix(stderr, "presencectl: unauthorized: ") {
		t.Errorf("a wrong key: exit %d, %q", code, stderr)
	}
	if code, stdout, stderr := runCmd(t, "service", "off", "-url", srv.URL, "-api-key", testAPIKey); code != 0 || !strings.Contains(stdout, "service disabled (admin)") {
		t.Errorf("service off: exit %d, %q %q", code, stdout, stderr)
	}
}

func TestStatusSetAndQuery(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-dev", "-api-key", testAPIKey)
	code, stdout, stderr := runCmd(t, "status", "set", "alice", "busy", "-text", "On a call", "-url", srv.URL, "-api-key", testAPIKey)
	if code != 0 || !strings.Contains(stdout, "status offline (chosen: busy)") || !strings.Contains(stdout, `"On a call"`) {
		t.Fatalf("status set: exit %d, %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCmd(t, "query", "alice", "bob", "-url", srv.URL, "-api-key", testAPIKey)
	if code != 0 || !regexp.MustCompile(`(?m)^alice +offline +On a call`).MatchString(stdout) || !regexp.MustCompile(`(?m)^bob +offline`).MatchString(stdout) {
		t.Errorf("query: exit %d:\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, "query", "alice", "-json", "-url", srv.URL, "-api-key", testAPIKey)
	var us struct{ Users []wire.Entry }
	if code != 0 || json.Unmarshal([]byte(stdout), &us) != nil || len(us.Users) != 1 || us.Users[0].Text != "On a call" {
		t.Errorf("query -json: exit %d: %s", code, stdout)
	}
	// Without the key, a dev token of another user is refused.
	if code, _, stderr := runCmd(t, "status", "set", "alice", "away", "-url", srv.URL, "-user", "bob", "-admin=false"); code != exitFail ||
		!strings.HasPrefix(stderr, "presencectl: forbidden: ") {
		t.Errorf("bob sets alice: exit %d, %q", code, stderr)
	}
	// Alice's own dev token may.
	if code, _, stderr := runCmd(t, "status", "set", "alice", "away", "-url", srv.URL, "-user", "alice", "-admin=false"); code != 0 {
		t.Errorf("alice sets alice: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{
		{"status", "set", "alice"},
		{"status", "get", "alice", "busy"},
		{"status", "set", "alice", "busy", "-until", "soon"},
		{"query"},
	} {
		if code, _, _ := runCmd(t, append(args, "-url", srv.URL)...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, stderr := runCmd(t, "status", "set", "alice", "asleep", "-url", srv.URL, "-api-key", testAPIKey); code != exitFail ||
		!strings.HasPrefix(stderr, "presencectl: bad_request: status must be") {
		t.Errorf("an unknown status: exit %d, %q", code, stderr)
	}
}
