package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "presenced-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "presenced")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic("build: " + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the binary and waits for its "listening" log line.
func start(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, append([]string{"-addr", addr, "-admin-addr", ""}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "presenced listening") {
				close(ready)
				signalled = true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("presenced did not start within 10 s")
	}
	return cmd, addr
}

func TestSIGTERMClosesSocketsAndExits(t *testing.T) {
	cmd, addr := start(t, "-dev", "-data", t.TempDir())
	resp, err := http.Get("http://" + addr + "/dev/token?user=alice")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := strings.Split(string(body), `"`)[3]

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
	cmd.Process.Signal(syscall.SIGTERM)
	_, _, err = ws.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Errorf("close code = %d (%v), want 1001", code, err)
	}
	if err := cmd.Wait(); err != nil {
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
	out, err := exec.Command(binary, "-dev", "-addr", freeAddr(t), "-admin-addr", "", "-data", dir).CombinedOutput()
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
		{[]string{"-dev"}, "PRESENCE_CONNECTION_LIMIT=0", "-connection-limit"},
		{[]string{"-dev", "-redis", "127.0.0.1:6379"}, "", "no scheme; write redis://127.0.0.1:6379/0"},
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

func TestEnvironmentSetsFlags(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "-addr", freeAddr(t), "-admin-addr", "", "-data", dir)
	cmd.Env = append(os.Environ(), "PRESENCE_DEV=true", "PRESENCE_EDITION=enterprise")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "presenced listening") {
			if !strings.Contains(line, "enterprise") {
				t.Errorf("listening line %q does not say enterprise", line)
			}
			return
		}
	}
	t.Fatal("never listened")
}
