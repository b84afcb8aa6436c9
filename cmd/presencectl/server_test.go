package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// presencedBin is the server, built once by the first test that needs it
// into binDir; buildErr says why there is none.
var (
	binDir       string
	buildOnce    sync.Once
	presencedBin string
	buildErr     error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// buildServer builds ./cmd/presenced, once.
func buildServer() (string, error) {
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "presencectl-test-")
		if buildErr != nil {
			return
		}
		bin := filepath.Join(binDir, "presenced")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/presenced/presenced/cmd/presenced").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/presenced: %v\n%s", err, out)
			return
		}
		presencedBin = bin
	})
	return presencedBin, buildErr
}

// server is one presenced process for one test.
type server struct {
	URL  string // ws://127.0.0.1:PORT/ws
	HTTP string // http://127.0.0.1:PORT
	log  string // its output
}

// startServer runs presenced on a free loopback port with a fresh data
// folder, waits until it is ready and stops it when the test ends.
func startServer(t *testing.T, flags ...string) *server {
	t.Helper()
	bin, err := buildServer()
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	dir := t.TempDir()
	logFile, err := os.Create(filepath.Join(dir, "presenced.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-addr", addr, "-data", filepath.Join(dir, "data"), "-admin-addr", ""}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{URL: "ws://" + addr + "/ws", HTTP: "http://" + addr, log: logFile.Name()}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(s.log)
			t.Logf("presenced %v:\n%s", args, b)
		}
	})

	// Polling is for process start-up only: nothing else tells us it is up.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := hc.Get(s.HTTP + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-exited:
			exited <- err
			b, _ := os.ReadFile(s.log)
			t.Fatalf("presenced %v exited: %v\n%s", args, err, b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("presenced %v not ready after 20s", args)
		}
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// testCtx is a context for one test, bounded well within go test's own
// timeout.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
