package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/presenced/presenced/internal/testproc"
)

// presencedBin is the server, built once by the first test that needs it;
// buildErr says why there is none, removeBin deletes it.
var (
	buildOnce    sync.Once
	presencedBin string
	removeBin    func()
	buildErr     error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if removeBin != nil {
		removeBin()
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
		presencedBin, removeBin, buildErr = testproc.Build("github.com/presenced/presenced/cmd/presenced")
	})
	return presencedBin, buildErr
}

// server is one presenced process for one test.
type server struct {
	URL  string // ws://127.0.0.1:PORT/ws
	HTTP string // http://127.0.0.1:PORT
}

// startServer runs presenced on a free loopback port with a fresh data
// folder, waits until it is ready and stops it when the test ends.
func startServer(t *testing.T, flags ...string) *server {
	t.Helper()
	bin, err := buildServer()
	if err != nil {
		t.Fatal(err)
	}
	addr := testproc.FreeAddr(t)
	args := append([]string{"-addr", addr, "-data", filepath.Join(t.TempDir(), "data"), "-admin-addr", ""}, flags...)
	s := &server{URL: "ws://" + addr + "/ws", HTTP: "http://" + addr}
	testproc.Start(t, exec.Command(bin, args...)).WaitHTTP(t, s.HTTP+"/readyz", 20*time.Second)
	return s
}

// testCtx is a context for one test, bounded well within go test's own
// timeout.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
