package web

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/internal/wstest"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/boltstore"
	"github.com/presenced/presenced/web/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testSecret = []byte("test-secret")

// waitFor bounds every wait for an event in these tests.
const waitFor = 5 * time.Second

// node is a hub and web server on a loopback port, over a store.
type node struct {
	t     *testing.T
	url   string // http://127.0.0.1:port
	store store.Store
	hub   *hub.Hub
	srv   *Server
	stop  func()
}

type options struct {
	hub hub.Config
	web Config
	dir string // data folder; default: a new temp dir
	// open opens the store; default: a bbolt store in dir.
	open func(t *testing.T, dir string) store.Store
	// log receives the server's logs; default: none.
	log *zerolog.Logger
}

// startNode starts a node and stops it when the test ends.
func startNode(t *testing.T, opts options) *node {
	t.Helper()
	if opts.dir == "" {
		opts.dir = t.TempDir()
	}
	if opts.open == nil {
		opts.open = func(t *testing.T, dir string) store.Store {
			st, err := boltstore.Open(dir, boltstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	st := opts.open(t, opts.dir)
	opts.hub.Store = st
	h := hub.New(opts.hub)
	ctx, cancel := context.WithCancel(context.Background())
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- h.Run(hubCtx) }()
	<-h.Ready()

	opts.web.Hub = h
	opts.web.Secret = testSecret
	opts.web.Log = zerolog.Nop()
	if opts.log != nil {
		opts.web.Log = *opts.log
	}
	srv := New(opts.web)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	n := &node{t: t, url: "http://" + ln.Addr().String(), store: st, hub: h, srv: srv}
	stopped := false
	n.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		stopHub()
		if err := <-hubDone; err != nil {
			t.Errorf("hub Run: %v", err)
		}
		st.Close()
	}
	t.Cleanup(n.stop)
	return n
}

func token(t *testing.T, user string, admin bool) string {
	t.Helper()
	tok, err := Mint(testSecret, user, "", admin, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// client is a test's WebSocket client.
type client = wstest.Client

func (n *node) wsURL() string { return "ws" + n.url[len("http"):] + "/ws" }

// dial connects without saying hello.
func (n *node) dial(t *testing.T) *client { return wstest.Dial(t, n.wsURL(), waitFor) }

// connect dials and signs in as user.
func (n *node) connect(t *testing.T, user string, admin bool) *client {
	t.Helper()
	return wstest.Connect(t, n.wsURL(), token(t, user, admin), waitFor)
}

// silent dials and says hello as user, with no reader: the connection
// answers no ping and reads nothing until the test does.
func (n *node) silent(t *testing.T, user string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, n.wsURL(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	hello := `{"type":"hello","token":"` + token(t, user, false) + `"}`
	if err := ws.Write(ctx, websocket.MessageText, []byte(hello)); err != nil {
		t.Fatal(err)
	}
	return ws
}

func entryOf(t *testing.T, f wire.Frame, user string) wire.Entry {
	t.Helper()
	for _, e := range f.Users {
		if e.ID == user {
			return e
		}
	}
	t.Fatalf("no entry for %s in %+v", user, f.Users)
	return wire.Entry{}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b [4096]byte
	n, _ := resp.Body.Read(b[:])
	return resp.StatusCode, string(b[:n])
}
