// Package testproc runs the processes of the end-to-end tests (presenced,
// redis-server): it builds a binary once per test binary, picks free
// loopback ports, starts a process with its output kept, waits until it is
// ready, and stops it when the test ends, showing its output if the test
// failed.
//
// A Proc is used from the test's goroutine; its output may be read from any.
package testproc

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/presenced/presenced/internal/testenv"
)

// stopGrace is how long a process has to exit after SIGTERM at the end of a
// test before it is killed.
const stopGrace = 10 * time.Second

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}

// Build compiles the Go package pkg (an import path) into a new temporary
// folder, for TestMain, and returns the binary and a function that removes
// the folder.
func Build(pkg string) (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "testproc-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		remove()
		return "", nil, fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, remove, nil
}

// StartRedis starts a redis-server of the test's own on the loopback port,
// keeping its files in dir and saving no snapshots, with the further
// options args (such as "--appendonly", "yes"), and waits until it accepts
// connections. Without redis-server the test is skipped, or fails under CI.
func StartRedis(t testing.TB, port int, dir string, args ...string) *Proc {
	t.Helper()
	bin := testenv.Binary(t, "redis-server", "redis-server")
	p := Start(t, exec.Command(bin, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", dir, "--save", ""}, args...)...))
	p.WaitOutput(t, "Ready to accept connections", 10*time.Second)
	return p
}

// Proc is a process started for a test.
type Proc struct {
	Cmd  *exec.Cmd
	out  *output
	done chan struct{} // closed once the process has exited
	err  error         // how it exited, once done is closed
}

// Until polls cond until it returns nil, failing the test with its last
// error past limit. It is for state that announces itself to nobody (a
// Redis key, a topology change); anything that sends an event is waited
// on instead.
func Until(t testing.TB, what string, limit time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, limit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Start starts cmd, keeping what it writes to stdout and stderr. When the
// test ends a process still running gets SIGTERM, then SIGKILL after 10 s;
// if the test failed, its output is logged.
func Start(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Cmd: cmd, out: newOutput(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop(syscall.SIGTERM, stopGrace)
		if t.Failed() {
			t.Logf("%s:\n%s", strings.Join(cmd.Args, " "), p.Output())
		}
	})
	return p
}

// Output returns what the process has written so far.
func (p *Proc) Output() string { return p.out.String() }

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait waits for the process to exit and returns how it did.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// Stop sends sig and waits up to grace for the process to exit, then kills
// it. It reports whether the process exited within grace (or already had).
func (p *Proc) Stop(sig os.Signal, grace time.Duration) bool {
	select {
	case <-p.done:
		return true
	default:
	}
	p.Cmd.Process.Signal(sig)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return true
	case <-timer.C:
		p.Cmd.Process.Kill()
		<-p.done
		return false
	}
}

// WaitOutput waits until a line of the output contains s and returns that
// line. It fails the test if the process exits first or timeout passes.
func (p *Proc) WaitOutput(t testing.TB, s string, timeout time.Duration) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		changed := p.out.changed()
		if line, ok := p.out.line(s); ok {
			return line
		}
		select {
		case <-changed:
		case <-p.done:
			if line, ok := p.out.line(s); ok {
				return line
			}
			t.Fatalf("%s exited (%v) before printing %q", p.Cmd.Path, p.err, s)
		case <-deadline.C:
			t.Fatalf("%s did not print %q within %v", p.Cmd.Path, s, timeout)
		}
	}
}

// WaitHTTP waits until url answers 200, for a process that says it is ready
// only that way: it polls. It fails the test if the process exits first or
// timeout passes.
func (p *Proc) WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before it was ready: %v", p.Cmd.Path, p.err)
		case <-deadline.C:
			t.Fatalf("%s not ready within %v", p.Cmd.Path, timeout)
		case <-tick.C:
		}
	}
}

// output keeps a process's output and tells waiters when it grows.
type output struct {
	mu   sync.Mutex
	b    bytes.Buffer
	grew chan struct{} // closed and replaced at each write
}

func newOutput() *output { return &output{grew: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.b.Write(p)
	close(o.grew)
	o.grew = make(chan struct{})
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// changed returns a channel closed at the next write.
func (o *output) changed() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.grew
}

// line returns the first complete line that contains s.
func (o *output) line(s string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	text := o.b.String()
	for {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			return "", false
		}
		if strings.Contains(text[:i], s) {
			return text[:i], true
		}
		text = text[i+1:]
	}
}
