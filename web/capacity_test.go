package web

import (
	"context"
	"net/http"
	"testing"

	"github.com/coder/websocket"
)

// TestCapacityRefusesWith503 checks that an upgrade past MaxConns is
// refused with 503 on a connection the server closes, so that a refused
// client does not keep one of the node's last files.
func TestCapacityRefusesWith503(t *testing.T) {
	n := startNode(t, options{web: Config{MaxConns: 1}})
	n.connect(t, "alice", false)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+n.url[len("http"):]+"/ws", nil)
	if err == nil {
		t.Fatal("second connection accepted past MaxConns 1")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("refusal = %v, %v; want HTTP 503", resp, err)
	}
	if !resp.Close {
		t.Errorf("503 kept the connection alive: Connection = %q", resp.Header.Get("Connection"))
	}
}
