package api_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAuthenticatedRequestsLeaveThePendingCap: a backend keeps many
// keep-alive connections to the API from one address. Once a request on a
// connection has a good token, the connection no longer counts as "not
// signed in", so the per-source cap on those (2 here) does not refuse the
// backend's third connection; connections that never authenticate are
// still capped.
func TestAuthenticatedRequestsLeaveThePendingCap(t *testing.T) {
	n := startNode(t, options{pendingPerSource: 2})
	addr := strings.TrimPrefix(n.url, "http://")
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, waitFor)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(waitFor))
		t.Cleanup(func() { c.Close() })
		return c
	}
	status := func(c net.Conn, auth string) int {
		req := "GET /api/v1/presence?users=alice HTTP/1.1\r\nHost: " + addr + "\r\n"
		if auth != "" {
			req += "Authorization: Bearer " + auth + "\r\n"
		}
		if _, err := c.Write([]byte(req + "\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0 // closed unanswered
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	for i := range 5 {
		if code := status(dial(), apiKey); code != http.StatusOK {
			t.Fatalf("backend connection %d with the API key: %d, want 200", i+1, code)
		}
	}
	// Two connections that never authenticate fill this address's share.
	dial()
	dial()
	if code := status(dial(), apiKey); code != http.StatusServiceUnavailable {
		t.Errorf("a third connection while two unauthenticated ones wait: %d, want 503", code)
	}
}
