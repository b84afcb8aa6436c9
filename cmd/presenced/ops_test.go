package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/presenced/presenced/internal/testenv"
	"github.com/presenced/presenced/internal/testproc"
	"github.com/presenced/presenced/internal/wstest"
)

// longSecret is a secret long enough not to be warned about.
const longSecret = "0123456789abcdef0123456789abcdef"

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "-version").Output()
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(out))
	if !strings.HasPrefix(line, "presenced ") || !strings.HasSuffix(line, runtime.Version()) || strings.Contains(line, "\n") {
		t.Errorf("-version printed %q, want one line: presenced <version> ... %s", line, runtime.Version())
	}
}

// runCheckConfig runs -check-config and returns its output and exit status.
func runCheckConfig(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"-check-config"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		code int
		want []string
	}{
		{"valid", []string{"-jwt-secret", longSecret, "-data", t.TempDir()}, nil, 0,
			[]string{"ok    flags and environment", "is writable", "configuration is valid"}},
		{"short secret", []string{"-data", t.TempDir()}, []string{"PRESENCE_JWT_SECRET=x"}, 0,
			[]string{"warn  -jwt-secret is 1 bytes: use 32 or more", "configuration is valid"}},
		{"no secret", []string{"-data", t.TempDir()}, nil, 1,
			[]string{"fail  one of -jwt-secret, -jwks-url or -dev is required", "configuration is invalid"}},
		{"bad environment", []string{"-dev"}, []string{"PRESENCE_HEARTBEAT=often"}, 1,
			[]string{"fail  PRESENCE_HEARTBEAT=\"often\"", "configuration is invalid"}},
		{"redis without scheme", []string{"-dev", "-redis", "127.0.0.1:6379"}, nil, 1,
			[]string{"did you mean redis://127.0.0.1:6379/0?"}},
		{"redis unreachable", []string{"-dev", "-redis", "redis://:hunter2@127.0.0.1:1/0"}, nil, 1,
			[]string{"fail  redisstore: dial: ping redis at 127.0.0.1:1", "configuration is invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runCheckConfig(t, tt.env, tt.args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d; output:\n%s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "hunter2") {
				t.Errorf("output shows the Redis password:\n%s", out)
			}
		})
	}
}

func TestCheckConfigReachesRedis(t *testing.T) {
	url := testenv.RedisURL(t)
	out, code := runCheckConfig(t, nil, "-jwt-secret", longSecret, "-redis", url)
	if code != 0 || !strings.Contains(out, "ok    redis at ") {
		t.Errorf("exit status %d, output:\n%s", code, out)
	}
}

func TestIdleLimitRange(t *testing.T) {
	for _, v := range []string{"1s", "59s", "25h"} {
		out, _ := exec.Command(binary, "-dev", "-idle-limit", v, "-data", t.TempDir()).CombinedOutput()
		if !strings.Contains(string(out), "-idle-limit must be 1m0s..24h0m0s, as in admin.settings, not "+v) {
			t.Errorf("-idle-limit %s: %s", v, out)
		}
	}
}

// proc is a presenced process whose log the test reads once it stopped.
type proc struct {
	t    *testing.T
	p    *testproc.Proc
	addr string
}

// startProc runs the binary with args and env and waits until its /livez
// answers: past start-up, serving.
func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	addr := testproc.FreeAddr(t)
	cmd := exec.Command(binary, append([]string{"-addr", addr, "-admin-addr", ""}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	p := testproc.Start(t, cmd)
	p.WaitHTTP(t, "http://"+addr+"/livez", 10*time.Second)
	return &proc{t: t, p: p, addr: addr}
}

// stop stops p with SIGTERM and returns what it logged.
func (p *proc) stop() string {
	p.t.Helper()
	p.p.Stop(syscall.SIGTERM, 10*time.Second)
	if err := p.p.Wait(); err != nil {
		p.t.Fatalf("exit: %v\n%s", err, p.p.Output())
	}
	return p.p.Output()
}

// logLines runs the server until it serves, stops it and returns every line
// it logged.
func logLines(t *testing.T, args ...string) []string {
	t.Helper()
	return strings.Split(strings.TrimSpace(startProc(t, nil, args...).stop()), "\n")
}

// devToken mints a token at the -dev server's /dev/token.
func devToken(t *testing.T, addr, user string, admin bool) string {
	t.Helper()
	url := "http://" + addr + "/dev/token?user=" + user
	if admin {
		url += "&admin=1"
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Token == "" {
		t.Fatalf("/dev/token: %v", err)
	}
	return body.Token
}

func TestStartUpLine(t *testing.T) {
	dir := t.TempDir()
	lines := logLines(t, "-jwt-secret", longSecret, "-data", dir, "-connection-limit", "50",
		"-idle-limit", "10m", "-heartbeat", "5s", "-node-name", "presence-7")
	var got map[string]any
	for _, l := range lines {
		if strings.Contains(l, "presenced listening") {
			if err := json.Unmarshal([]byte(l), &got); err != nil {
				t.Fatalf("%q: %v", l, err)
			}
		}
	}
	want := map[string]any{"store": "bolt", "data": dir, "edition": "free", "connection_limit": 50.0,
		"idle_limit": "10m0s", "heartbeat": "5s", "node_name": "presence-7"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("start-up line: %s = %v, want %v (line %v)", k, got[k], v, got)
		}
	}
}

func TestLogTimesInMilliseconds(t *testing.T) {
	ms := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	// In a zone far from UTC: the log is in UTC whatever the host's zone.
	log := startProc(t, []string{"TZ=Asia/Tokyo"}, "-jwt-secret", longSecret, "-data", t.TempDir()).stop()
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec struct{ Time string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if !ms.MatchString(rec.Time) {
			t.Errorf("time %q of %q: want UTC with three fractional digits", rec.Time, l)
		}
	}
}

func TestLogLevel(t *testing.T) {
	lines := logLines(t, "-jwt-secret", "short", "-data", t.TempDir(), "-log-level", "warn")
	if len(lines) != 1 || !strings.Contains(lines[0], `"level":"warn"`) || !strings.Contains(lines[0], "-jwt-secret is 5 bytes") {
		t.Errorf("with -log-level warn and a short secret, logged %q; want only the warning", lines)
	}
	out, _ := exec.Command(binary, "-dev", "-log-level", "loud").CombinedOutput()
	if !strings.Contains(string(out), "must be debug, info, warn or error") {
		t.Errorf("-log-level loud: %s", out)
	}
}

// TestIdleLimitFlagWinsOverSavedSetting: an admin saves 2 minutes; a
// restart with -idle-limit 10m uses 10 minutes and says why; a restart
// without it uses the saved 2 minutes and says so.
func TestIdleLimitFlagWinsOverSavedSetting(t *testing.T) {
	dir := t.TempDir()
	first := startProc(t, nil, "-dev", "-data", dir)
	admin := wstest.Connect(t, "ws://"+first.addr+"/ws", devToken(t, first.addr, "root", true), 10*time.Second)
	admin.OK(map[string]any{"type": "admin.settings", "idle_limit_s": 120})
	first.stop()

	flagged := startProc(t, nil, "-dev", "-data", dir, "-idle-limit", "10m")
	c := wstest.Connect(t, "ws://"+flagged.addr+"/ws", devToken(t, flagged.addr, "alice", false), 10*time.Second)
	if got := c.Welcome.IdleLimitMS; got != 600000 {
		t.Errorf("with -idle-limit 10m over a saved 2m: welcome idle_limit_ms = %d, want 600000", got)
	}
	if log := flagged.stop(); !strings.Contains(log, "the one given at start-up wins over the one an admin saved") {
		t.Errorf("log does not say the flag won:\n%s", log)
	}

	plain := startProc(t, nil, "-dev", "-data", dir)
	c = wstest.Connect(t, "ws://"+plain.addr+"/ws", devToken(t, plain.addr, "alice", false), 10*time.Second)
	if got := c.Welcome.IdleLimitMS; got != 120000 {
		t.Errorf("without -idle-limit: welcome idle_limit_ms = %d, want the saved 120000", got)
	}
	if log := plain.stop(); !strings.Contains(log, "the one an admin saved is used instead of the default") {
		t.Errorf("log does not say the saved setting is used:\n%s", log)
	}
}
