package testproc

import (
	"bufio"
	"fmt"
	"net"
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

func TestStartRedis(t *testing.T) {
	port := FreePort(t)
	p := StartRedis(t, port, t.TempDir(), "--appendonly", "yes")
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("redis-server said it was ready but refuses connections: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("CONFIG GET appendonly\r\n")); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// The reply is an array of the name and the value: *2, $10, appendonly, $3, yes.
	r := bufio.NewReader(c)
	var last string
	for range 5 {
		if last, err = r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	if last != "yes\r\n" {
		t.Errorf("CONFIG GET appendonly = %q: the extra options were not passed", last)
	}
	if !p.Stop(syscall.SIGTERM, 10*time.Second) {
		t.Error("redis-server did not stop on SIGTERM")
	}
}
