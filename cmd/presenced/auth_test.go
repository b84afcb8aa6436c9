package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/presenced/presenced/web"
)

// hello signs in with token and returns the first frame's type, code and
// message, and the user of a welcome.
func hello(t *testing.T, addr, token string) (typ, code, msg string, user map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","token":"`+token+`"}`))
	_, data, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Type, Code, Message string
		User                map[string]any
	}
	json.Unmarshal(data, &f)
	return f.Type, f.Code, f.Message, f.User
}

// The identity-provider flags reach the verifier: an RS256 token of the
// provider's JWK Set signs in, admin by -roles-claim and -admin-role; the
// wrong audience and a lifetime past -max-token-lifetime are refused.
func TestJWKSFlags(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwk, _ := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "k", ALG: jwkset.AlgRS256}})
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	}))
	defer idp.Close()
	_, addr := start(t, "-data", t.TempDir(), "-jwks-url", idp.URL, "-jwt-issuer", "https://sso.example/realms/acme",
		"-jwt-audience", "presence", "-roles-claim", "realm_access.roles", "-admin-role", "boss", "-max-token-lifetime", "2h")
	sign := func(aud string, life time.Duration) string {
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"sub": "alice", "name": "Alice", "iss": "https://sso.example/realms/acme", "aud": []string{aud, "account"},
			"iat": now.Unix(), "exp": now.Add(life).Unix(), "realm_access": map[string]any{"roles": []string{"boss"}},
		})
		tok.Header["kid"] = "k"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if typ, _, msg, user := hello(t, addr, sign("presence", time.Hour)); typ != "welcome" || user["admin"] != true || user["name"] != "Alice" {
		t.Errorf("provider token: %s %s, user %v", typ, msg, user)
	}
	if _, code, msg, _ := hello(t, addr, sign("other", time.Hour)); code != "unauthorized" || !strings.Contains(msg, "aud") {
		t.Errorf("wrong audience: %s %q", code, msg)
	}
	if _, code, msg, _ := hello(t, addr, sign("presence", 3*time.Hour)); code != "unauthorized" || !strings.Contains(msg, "2h0m0s") {
		t.Errorf("3 h token with -max-token-lifetime 2h: %s %q", code, msg)
	}
}

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
	if _, code, msg, _ := hello(t, addr, tok); code != "unauthorized" || !strings.Contains(msg, "alg") {
		t.Errorf("HS256 hello with only -jwks-url answered %s %q", code, msg)
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
