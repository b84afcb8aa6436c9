package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/presenced/presenced/auth"
	"github.com/presenced/presenced/internal/wstest"
)

// sign is a token of claims c signed with key by method, for tests that
// need claims or keys auth.Mint does not make.
func sign(t *testing.T, key any, method jwt.SigningMethod, c jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// shortToken is an HS256 token of user that expires at exp.
func shortToken(t *testing.T, user string, exp time.Time) string {
	t.Helper()
	return sign(t, testSecret, jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "iat": time.Now().Unix(), "exp": exp.Unix()})
}

// soon is an exp one to two seconds ahead, in whole seconds as in a JWT.
func soon() time.Time { return time.Unix(time.Now().Unix()+2, 0) }

// closeOf waits for c to be closed by the server and returns the close
// code and when it came.
func closeOf(t *testing.T, c *wstest.Client) (websocket.StatusCode, time.Time) {
	t.Helper()
	code := c.Closed()
	return code, time.Now()
}

// At its token's exp the socket closes with 4001 "token expired", within
// a second and not before.
func TestSessionExpires(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	exp := soon()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, n.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	hello, _ := json.Marshal(map[string]any{"type": "hello", "token": shortToken(t, "alice", exp)})
	if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, _, err = ws.Read(ctx) // the welcome, then nothing until the close
	}
	at := time.Now()
	var ce websocket.CloseError
	errors.As(err, &ce)
	if ce.Code != 4001 || ce.Reason != "token expired" {
		t.Errorf("closed with %d %q, want 4001 \"token expired\"", ce.Code, ce.Reason)
	}
	if at.Before(exp) || at.After(exp.Add(time.Second)) {
		t.Errorf("closed at %v, %v from exp", at.Format(time.StampMilli), at.Sub(exp))
	}
}

// A refresh with a newer token of the same user is answered result with
// the new end, and the socket outlives the old exp.
func TestRefreshExtends(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	exp := soon()
	c := wstest.Connect(t, n.wsURL(), shortToken(t, "alice", exp), waitFor)
	later := time.Unix(time.Now().Add(time.Hour).Unix(), 0)
	r := c.OK(map[string]any{"type": "refresh", "token": shortToken(t, "alice", later)})
	if r.Type != "result" || !r.OK || r.Expires == nil || !r.Expires.Equal(later) {
		t.Errorf("refresh answered %+v", r)
	}
	// Nothing to wait for but the clock: the old exp must pass unnoticed.
	time.Sleep(time.Until(exp.Add(500 * time.Millisecond)))
	if f := c.Do(map[string]any{"type": "ping"}); f.Type != "pong" {
		t.Errorf("after the old exp, ping answered %+v", f)
	}
}

// A refused refresh (another user's token, a bad one, an expired one, one
// without token) is an error, and the session still ends at the old exp.
func TestRefreshRefused(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	exp := soon()
	c := wstest.Connect(t, n.wsURL(), shortToken(t, "alice", exp), waitFor)
	later := time.Now().Add(time.Hour)
	bad := sign(t, []byte("other"), jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": later.Unix()})
	admin, _ := Mint(testSecret, "alice", "", true, time.Hour)
	for _, tt := range []struct {
		name, token, code, says string
	}{
		{"another user", shortToken(t, "mallory", later), "forbidden", "another user"},
		{"bad signature", bad, "unauthorized", "signature"},
		{"expired", shortToken(t, "alice", time.Now().Add(-time.Minute)), "unauthorized", "expired"},
		{"admin now", admin, "forbidden", "roles"},
		{"no token", "", "bad_request", "token"},
	} {
		f := c.Fail(map[string]any{"type": "refresh", "token": tt.token}, tt.code)
		if !strings.Contains(f.Message, tt.says) {
			t.Errorf("%s: message %q does not say %q", tt.name, f.Message, tt.says)
		}
	}
	code, at := closeOf(t, c)
	if code != 4001 || at.Before(exp) || at.After(exp.Add(time.Second)) {
		t.Errorf("closed with %d at %v from the old exp", code, at.Sub(exp))
	}
}

// With a JWK Set that cannot load, /readyz says why and hello is
// refused with that reason; once the set loads, the node is ready and an
// ES256 token of the provider signs in, admin by the configured roles
// claim.
func TestIdentityProvider(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, _ := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "k1", USE: jwkset.UseSig}})
	served := make(chan struct{}, 10)
	var up atomic.Bool
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		defer func() { served <- struct{}{} }()
		if !up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	}))
	defer idp.Close()
	v, err := auth.New(auth.Config{JWKSURL: idp.URL, Issuer: "https://idp.example", RolesClaim: "realm_access.roles"})
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, options{web: Config{Verifier: v}})

	code, body := httpGet(t, n.url+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "identity provider") {
		t.Errorf("/readyz before the keys: %d %q", code, body)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"sub": "alice", "iss": "https://idp.example", "exp": time.Now().Add(time.Hour).Unix(),
		"realm_access": map[string]any{"roles": []string{"admin"}},
	})
	tok.Header["kid"] = "k1"
	signed, _ := tok.SignedString(key)
	c := n.dial(t)
	c.Send(map[string]any{"type": "hello", "id": "h", "token": signed})
	if f := c.Next("error"); f.Code != "unauthorized" || !strings.Contains(f.Message, "not loaded") {
		t.Errorf("hello before the keys: %+v", f)
	}
	<-served // the fetch that hello's unknown kid caused

	up.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { v.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	<-served
	// The keys are stored right after the answer is read.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for timeout := time.After(waitFor); v.Ready() != nil; {
		select {
		case <-tick.C:
		case <-timeout:
			t.Fatalf("not ready after the JWK Set was served: %v", v.Ready())
		}
	}
	if code, body := httpGet(t, n.url+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the keys: %d %q", code, body)
	}
	w := wstest.Connect(t, n.wsURL(), signed, waitFor).Welcome
	if w.User.ID != "alice" || !w.User.Admin {
		t.Errorf("welcome user %+v", w.User)
	}
}
