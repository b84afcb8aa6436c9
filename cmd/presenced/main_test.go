package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/presenced/presenced/internal/testproc"
	"github.com/presenced/presenced/internal/wstest"
)

var binary string

func TestMain(m *testing.M) {
	bin, remove, err := testproc.Build("github.com/presenced/presenced/cmd/presenced")
	if err != nil {
		panic(err)
	}
	binary = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

// start runs the binary and waits for its "listening" log line.
func start(t *testing.T, args ...string) (*testproc.Proc, string) {
	t.Helper()
	addr := testproc.FreeAddr(t)
	p := testproc.Start(t, exec.Command(binary, append([]string{"-addr", addr, "-admin-addr", ""}, args...)...))
	p.WaitOutput(t, "presenced listening", 10*time.Second)
	return p, addr
}

func TestSIGTERMClosesSocketsAndExits(t *testing.T) {
	proc, addr := start(t, "-dev", "-data", t.TempDir())
	tok := devToken(t, addr, "alice", false)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","token":"`+tok+`"}`))
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	proc.Cmd.Process.Signal(syscall.SIGTERM)
	_, _, err = ws.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Errorf("close code = %d (%v), want 1001", code, err)
	}
	if err := proc.Wait(); err != nil {
		t.Errorf("exit: %v, want status 0", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("took %v to exit, want under 5 s", d)
	}
}

func TestSecondProcessOnSameDataFailsFast(t *testing.T) {
	dir := t.TempDir()
	start(t, "-dev", "-data", dir)
	began := time.Now()
	out, err := exec.Command(binary, "-dev", "-addr", testproc.FreeAddr(t), "-admin-addr", "", "-data", dir).CombinedOutput()
	if err == nil {
		t.Fatal("a second process on the same data folder started")
	}
	if !strings.Contains(string(out), "in use by another presenced process") {
		t.Errorf("output does not say why:\n%s", out)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("took %v to fail", d)
	}
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		env  string
		want string
	}{
		{nil, "", "-jwt-secret"},
		{[]string{"-dev", "-edition", "gold"}, "", "free or enterprise"},
		{[]string{"-dev", "-connection-limit", "500"}, "", "never raise it"},
		{[]string{"-dev", "-idle-limit", "10ms"}, "", "-idle-limit"},
		{[]string{"-dev", "-offline-grace", "-1s"}, "", "-offline-grace"},
		{[]string{"-dev"}, "PRESENCE_CONNECTION_LIMIT=0", "-connection-limit"},
		{[]string{"-dev", "-max-conns-per-user", "-1"}, "", "-max-conns-per-user"},
		{[]string{"-dev", "-max-pending-per-source", "-1"}, "", "-max-pending-per-source"},
		{[]string{"-dev", "-api-key", strings.Repeat("k", 31)}, "", "-api-key must be at least 32"},
		{[]string{"-dev", "-redis", "127.0.0.1:6379"}, "", "did you mean redis://127.0.0.1:6379/0?"},
		{[]string{"-dev", "-redis", "redis+sentinel://127.0.0.1:1"}, "", "names its master"},
		{[]string{"-dev", "-redis-replica-timeout", "0s"}, "", "-redis-replica-timeout"},
	}
	for _, tt := range tests {
		cmd := exec.Command(binary, append([]string{"-admin-addr", "", "-addr", "127.0.0.1:0", "-data", t.TempDir()}, tt.args...)...)
		if tt.env != "" {
			cmd.Env = append(os.Environ(), tt.env)
		}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("%v %s: err %v, output %q; want failure mentioning %q", tt.args, tt.env, err, out, tt.want)
		}
	}
}

func TestAPIKeyServesTheHTTPAPI(t *testing.T) {
	key := strings.Repeat("k", 32)
	_, addr := start(t, "-dev", "-data", t.TempDir(), "-api-key", key)
	for _, tc := range []struct {
		key  string
		want int
	}{{key, http.StatusOK}, {key + "x", http.StatusUnauthorized}, {"", http.StatusUnauthorized}} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/stats", nil)
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET /api/v1/stats with key %q: %d, want %d", tc.key, resp.StatusCode, tc.want)
		}
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	cmd := exec.Command(binary, "-addr", testproc.FreeAddr(t), "-admin-addr", "", "-data", t.TempDir())
	cmd.Env = append(os.Environ(), "PRESENCE_DEV=true", "PRESENCE_EDITION=enterprise")
	line := testproc.Start(t, cmd).WaitOutput(t, "presenced listening", 10*time.Second)
	if !strings.Contains(line, "enterprise") {
		t.Errorf("listening line %q does not say enterprise", line)
	}
}

// TestHardeningFlags: -max-conns-per-user reaches the hub, and the binary
// refuses a Host that is not one it goes by.
func TestHardeningFlags(t *testing.T) {
	_, addr := start(t, "-dev", "-data", t.TempDir(), "-max-conns-per-user", "1")
	connectAs(t, addr, "alice", false)
	c := wstest.Dial(t, "ws://"+addr+"/ws", 10*time.Second)
	c.Send(map[string]any{"type": "hello", "id": "h", "token": devToken(t, addr, "alice", false)})
	if f := c.Next("error"); f.Code != "over_limit" {
		t.Errorf("alice's second connection with -max-conns-per-user 1: %+v, want over_limit", f)
	}

	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = "rebound.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host rebound.example: %d, want 421", resp.StatusCode)
	}
}
