package testproc

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestStartWaitStop(t *testing.T) {
	p := Start(t, exec.Command("sh", "-c", `echo one; echo "two ready" >&2; exec sleep 60`))
	if line := p.WaitOutput(t, "ready", 10*time.Second); line != "two ready" {
		t.Errorf("WaitOutput = %q, want the whole line", line)
	}
	if !p.Stop(syscall.SIGTERM, 10*time.Second) {
		t.Error("sleep did not stop on SIGTERM")
	}
	if err := p.Wait(); err == nil {
		t.Error("a process killed by SIGTERM exited 0")
	}
}

func TestFreeAddrListens(t *testing.T) {
	if port := FreePort(t); port <= 0 {
		t.Fatalf("FreePort = %d", port)
	}
}
