package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/presenced/presenced/internal/testenv"
)

// startRedis runs a redis-server of the test's own on port and returns it.
func startRedis(t *testing.T, bin string, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond) // a process starting: no event to wait on but its port
	}
}

// readyz returns /readyz's status and body.
func readyz(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// untilReadyz polls /readyz until it answers code and returns how long
// that took and the body, failing past limit.
func untilReadyz(t *testing.T, addr string, code int, limit time.Duration) (time.Duration, string) {
	t.Helper()
	began := time.Now()
	for {
		got, body := readyz(t, addr)
		if got == code {
			return time.Since(began), body
		}
		if time.Since(began) > limit {
			t.Fatalf("/readyz still %d %q after %v, want %d", got, body, limit, code)
		}
		time.Sleep(20 * time.Millisecond) // /readyz is what an operator's probe sees: poll it
	}
}

// TestReadinessFollowsRedis: with Redis killed and nothing written, /readyz
// turns 503 within about a second and says why; with Redis back, 200 again.
func TestReadinessFollowsRedis(t *testing.T) {
	bin := testenv.Binary(t, "redis-server", "redis-server")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	redis := startRedis(t, bin, port)
	p := startProc(t, nil, "-dev", "-redis", fmt.Sprintf("redis://127.0.0.1:%d/0", port))
	untilReadyz(t, p.addr, http.StatusOK, 5*time.Second)

	redis.Process.Kill()
	redis.Wait()
	took, body := untilReadyz(t, p.addr, http.StatusServiceUnavailable, 5*time.Second)
	t.Logf("503 %v after Redis died: %q", took, body)
	if took > 1500*time.Millisecond {
		t.Errorf("/readyz turned 503 %v after Redis died, want within about a second", took)
	}
	if !strings.Contains(body, "not ready: the store is unreachable") {
		t.Errorf("/readyz body %q does not say why", body)
	}

	startRedis(t, bin, port)
	took, _ = untilReadyz(t, p.addr, http.StatusOK, 10*time.Second)
	t.Logf("200 %v after Redis came back", took)
	if took > 3*time.Second {
		t.Errorf("/readyz 200 again %v after Redis came back, want within a few seconds", took)
	}
}
