package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/presenced/presenced/web/wire"
)

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args    []string
		max     int
		wantPos []string
		wantURL string
		wantErr bool
	}{
		{args: []string{"on", "-url", "ws://x/ws"}, max: 1, wantPos: []string{"on"}, wantURL: "ws://x/ws"},
		{args: []string{"-url", "ws://x/ws", "on"}, max: 1, wantPos: []string{"on"}, wantURL: "ws://x/ws"},
		{args: []string{"-url", "ws://x/ws"}, max: 1, wantPos: nil, wantURL: "ws://x/ws"},
		{args: []string{"on", "off"}, max: 1, wantErr: true},
		{args: []string{"on"}, max: 0, wantErr: true},
		{args: []string{"-nope"}, max: 1, wantErr: true},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		u := fs.String("url", "", "")
		pos, err := parseInterleaved(fs, tt.args, tt.max)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v, want error %v", tt.args, err, tt.wantErr)
			continue
		}
		if err == nil && (!slices.Equal(pos, tt.wantPos) || *u != tt.wantURL) {
			t.Errorf("%q: positional %q url %q, want %q %q", tt.args, pos, *u, tt.wantPos, tt.wantURL)
		}
	}
}

func TestParseLoadFlags(t *testing.T) {
	_, cfg, err := parseLoadFlags([]string{
		"-url", "ws://127.0.0.1:1/ws,ws://127.0.0.1:2/ws", "-url", "ws://127.0.0.1:3/ws",
		"-n", "8", "-subscribe", "3", "-churn", "0.5", "-duration", "2s", "-json",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ws://127.0.0.1:1/ws", "ws://127.0.0.1:2/ws", "ws://127.0.0.1:3/ws"}
	if !slices.Equal(cfg.URLs, want) || cfg.N != 8 || cfg.Users != 8 || cfg.Subscribe != 3 ||
		cfg.Churn != 0.5 || cfg.Duration != 2*time.Second || !cfg.JSON {
		t.Errorf("cfg = %+v", cfg)
	}

	_, cfg, err = parseLoadFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.URLs, []string{defaultURL}) || cfg.Duration != 30*time.Second || cfg.Users != cfg.N {
		t.Errorf("defaults = %+v", cfg)
	}

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "-n"},
		{[]string{"-duration", "0"}, "-duration"},
		{[]string{"-rate", "0"}, "-rate"},
		{[]string{"-warmup", "30s"}, "-warmup"},
		{[]string{"-warmup", "-1s"}, "-warmup"},
		{[]string{"-url", "http://127.0.0.1/ws"}, "-url"},
		{[]string{"-url", "ws:///ws"}, "-url"},
		{[]string{"-n", "5", "-subscribe", "5"}, "other users"},
		{[]string{"-subscribe", "2", "-subscribe-all"}, "not both"},
		{[]string{"-churn", "-1"}, "-churn"},
		{[]string{"-source-ips", "127.0.0.9-127.0.0.1"}, "-source-ips"},
		{[]string{"-user-prefix", strings.Repeat("x", 130)}, "-user-prefix"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, b := range bad {
		if _, _, err := parseLoadFlags(b.args, io.Discard); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("parseLoadFlags(%q) error = %v, want one about %s", b.args, err, b.want)
		}
	}
}

func TestLoadRefusesMoreThanFiles(t *testing.T) {
	files, err := raiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	n := fmt.Sprint(files)
	code := run(context.Background(), []string{"load", "-n", n, "-url", "ws://127.0.0.1:9/ws"}, io.Discard, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "open files") {
		t.Errorf("load -n %s: exit %d, stderr %q; want 1 and a word about open files", n, code, stderr.String())
	}
}

func TestMarker(t *testing.T) {
	now := time.Now()
	ns, ok := parseMarker(marker(now))
	if !ok || ns != now.UnixNano() {
		t.Errorf("parseMarker(marker(now)) = %d, %v", ns, ok)
	}
	if len(marker(now)) > wire.MaxTextLen {
		t.Errorf("marker is longer than a status text may be")
	}
	for _, s := range []string{"", "In a meeting", "lt ", "lt x", "lt 12x"} {
		if _, ok := parseMarker(s); ok {
			t.Errorf("parseMarker(%q) ok", s)
		}
	}
}

func TestFailReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("hello: %w", wire.Errorf(wire.CodeUnauthorized, "bad token")), "unauthorized"},
		{fmt.Errorf("hello: connection closed: %w", websocket.CloseError{Code: 4001}), "close 4001"},
		{fmt.Errorf("dial: %w", &handshakeError{Status: 503, err: errors.New("x")}), "http 503"},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), "refused"},
		{fmt.Errorf("dial: %w", syscall.EADDRNOTAVAIL), "no local port"},
		{fmt.Errorf("dial: %w", syscall.EMFILE), "too many open files"},
		{errors.New("what"), "other"},
	}
	for _, tt := range tests {
		if got := failReason(tt.err); got != tt.want {
			t.Errorf("failReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestDevTokenURL(t *testing.T) {
	tests := []struct {
		ws, user string
		admin    bool
		want     string
	}{
		{"ws://127.0.0.1:8080/ws", "alice", false, "http://127.0.0.1:8080/dev/token?user=alice"},
		{"wss://example.test/ws", "a b", true, "https://example.test/dev/token?admin=1&user=a+b"},
		{"ws://[::1]:9/x/ws?q=1", "bob", true, "http://[::1]:9/dev/token?admin=1&user=bob"},
	}
	for _, tt := range tests {
		got, err := devTokenURL(tt.ws, tt.user, tt.admin)
		if err != nil || got != tt.want {
			t.Errorf("devTokenURL(%q) = %q, %v; want %q", tt.ws, got, err, tt.want)
		}
	}
	if _, err := devTokenURL("ftp://x/", "a", false); err == nil {
		t.Error("devTokenURL(ftp) gave no error")
	}
}

func TestTokenCommand(t *testing.T) {
	for _, admin := range []bool{false, true} {
		args := []string{"token", "-secret", "s3cret", "-user", "alice", "-name", "Alice", "-ttl", "2h"}
		if admin {
			args = append(args, "-admin")
		}
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("token: exit %d: %s", code, stderr.String())
		}
		var c claims
		tok, err := jwt.ParseWithClaims(strings.TrimSpace(stdout.String()), &c,
			func(*jwt.Token) (any, error) { return []byte("s3cret"), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
		if err != nil || !tok.Valid {
			t.Fatalf("token does not verify: %v", err)
		}
		if c.Subject != "alice" || c.Name != "Alice" || (len(c.Roles) == 1 && c.Roles[0] == "admin") != admin {
			t.Errorf("claims = %+v, admin %v", c, admin)
		}
		if left := time.Until(c.ExpiresAt.Time); left < 119*time.Minute || left > 2*time.Hour {
			t.Errorf("exp in %v, want 2h", left)
		}
		if _, err := jwt.Parse(strings.TrimSpace(stdout.String()), func(*jwt.Token) (any, error) { return []byte("other"), nil }); err == nil {
			t.Error("token verifies with another secret")
		}
	}

	t.Setenv(secretEnv, "")
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"token", "-user", "alice"}, io.Discard, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "-secret is required") {
		t.Errorf("token without secret: exit %d, %q", code, stderr.String())
	}
}

func TestBadArguments(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, io.Discard, &stderr); code != exitUsage {
		t.Errorf("exit %d", code)
	}
	if code := run(context.Background(), []string{"service", "maybe"}, io.Discard, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "say on or off") {
		t.Errorf("service maybe: exit %d, %q", code, stderr.String())
	}
	if code := run(context.Background(), []string{"statuses", "list", "-name", "x"}, io.Discard, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "-name does not go with list") {
		t.Errorf("statuses list -name: exit %d, %q", code, stderr.String())
	}
}

// A change sent within -warmup of the start is left out of the latency;
// one sent after it is counted.
func TestWarmupLeavesOutEarlyChanges(t *testing.T) {
	l := newLoader(loadConfig{N: 1, Warmup: 5 * time.Second, SourceIPs: "none"}, io.Discard)
	l.start = time.Now().Add(-10 * time.Second)
	entry := func(sent time.Time) *wire.Frame {
		return &wire.Frame{Type: wire.TypePresence, Users: []wire.Entry{{ID: "u", Status: "busy", Text: marker(sent)}}}
	}
	l.onEvent(entry(l.start.Add(time.Second)))
	if n := l.presenceLat.count(); n != 0 {
		t.Fatalf("a change 1 s after the start, with -warmup 5s: %d latencies recorded, want 0", n)
	}
	l.onEvent(entry(l.start.Add(6 * time.Second)))
	if n := l.presenceLat.count(); n != 1 {
		t.Fatalf("a change 6 s after the start: %d latencies recorded, want 1", n)
	}
}
