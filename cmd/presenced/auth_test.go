package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/presenced/presenced/web"
)

// With only -jwks-url, and the provider unreachable, the server starts,
// /readyz says why, and an HS256 token is refused.
func TestJWKSUnreachableAtStart(t *testing.T) {
	_, addr := start(t, "-jwks-url", "http://127.0.0.1:1/jwks.json", "-data", t.TempDir())
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "identity provider") {
		t.Errorf("/readyz: %d %q", resp.StatusCode, body)
	}

	tok, _ := web.Mint([]byte("guessed"), "alice", "", true, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","token":"`+tok+`"}`))
	_, data, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Type, Code, Message string }
	json.Unmarshal(data, &f)
	if f.Code != "unauthorized" || !strings.Contains(f.Message, "alg") {
		t.Errorf("HS256 hello with only -jwks-url answered %s", data)
	}
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != 4001 {
		t.Errorf("closed with %v, want 4001", err)
	}
}

func TestBadAuthFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-jwt-issuer", "x"}, "-jwks-url"},
		{[]string{"-jwks-url", "ftp://idp.example/keys"}, "not an http or https URL"},
		{[]string{"-jwt-secret", "s", "-max-token-lifetime", "10s"}, "-max-token-lifetime"},
	} {
		out, err := exec.Command(binary, append([]string{"-admin-addr", "", "-addr", "127.0.0.1:0", "-data", t.TempDir()}, tt.args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("%v: err %v, output %q; want failure mentioning %q", tt.args, err, out, tt.want)
		}
	}
}
