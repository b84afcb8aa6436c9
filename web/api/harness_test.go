package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/presenced/presenced/auth"
	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/internal/wstest"
	"github.com/presenced/presenced/store/boltstore"
	"github.com/presenced/presenced/web"
	"github.com/presenced/presenced/web/api"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var secret = []byte("test-secret")

// apiKey is the server API key of the tests.
const apiKey = "k3y-for-tests-0123456789abcdef-xyz"

// waitFor bounds every wait for an event.
const waitFor = 5 * time.Second

// node is a hub, its HTTP API and its socket server on a loopback port,
// over a bbolt store: the parts a backend talks to.
type node struct {
	url   string // http://127.0.0.1:port
	hub   *hub.Hub
	api   *api.API
	store *boltstore.Store
}

type options struct {
	hub hub.Config
	api api.Config
	// pendingPerSource is web.Config.MaxPendingPerSource; 0: its default.
	pendingPerSource int
}

func startNode(t testing.TB, opts options) *node {
	t.Helper()
	st, err := boltstore.Open(t.TempDir(), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts.hub.Store = st
	h := hub.New(opts.hub)
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- h.Run(hubCtx) }()
	<-h.Ready()

	verifier, err := auth.New(auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	opts.api.Hub = h
	opts.api.Verifier = verifier
	if opts.api.APIKey == "" {
		opts.api.APIKey = apiKey
	}
	a, err := api.New(opts.api)
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Config{Hub: h, Secret: secret, Verifier: verifier, Log: zerolog.Nop(), API: a,
		MaxPendingPerSource: opts.pendingPerSource})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		stopHub()
		if err := <-hubDone; err != nil {
			t.Errorf("hub Run: %v", err)
		}
		st.Close()
	})
	return &node{url: "http://" + ln.Addr().String(), hub: h, api: a, store: st}
}

func token(t testing.TB, user string, admin bool) string {
	t.Helper()
	tok, err := web.Mint(secret, user, "", admin, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// connect opens a socket signed in as user.
func (n *node) connect(t testing.TB, user string, admin bool) *wstest.Client {
	t.Helper()
	return wstest.Connect(t, "ws"+strings.TrimPrefix(n.url, "http")+"/ws", token(t, user, admin), waitFor)
}

// answer is an HTTP response, read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v, failing the test if it is not JSON.
func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body %q: %v", a.body, err)
	}
}

// problem decodes a problem answer and checks its shape and status.
func (a answer) problem(t *testing.T, status int, code string) map[string]any {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d; body %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p map[string]any
	a.json(t, &p)
	if p["code"] != code || p["status"] != float64(status) || p["title"] != http.StatusText(status) || p["detail"] == "" || p["detail"] == nil {
		t.Errorf("problem %v, want code %s, status %d, its title and a detail", p, code, status)
	}
	return p
}

// do makes a request with the bearer token tok ("" for none) and a body
// (nil, raw bytes, or a value to encode as JSON).
func (n *node) do(t *testing.T, method, path, tok string, body any) answer {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, n.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// ok makes a request that must answer want (200 unless given).
func (n *node) ok(t *testing.T, method, path, tok string, body any, out any) answer {
	t.Helper()
	a := n.do(t, method, path, tok, body)
	want := http.StatusOK
	if method == http.MethodPost && path == "/api/v1/statuses" {
		want = http.StatusCreated
	}
	if a.status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, a.status, want, a.body)
	}
	if out != nil {
		a.json(t, out)
	}
	return a
}
