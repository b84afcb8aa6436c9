package redisstore

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/presenced/presenced/internal/testenv"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/storetest"
)

// hangLimit is how long a call against a dead or silent server may take
// before the test calls it hung: far above the timeouts the tests set, far
// below go test's own timeout.
const hangLimit = 10 * time.Second

// redisURL returns the test server's URL. Without one the test fails under
// CI, which must start redis-server, and is skipped elsewhere.
func redisURL(t *testing.T) string {
	t.Helper()
	return testenv.RedisURL(t)
}

// testPrefix returns a key prefix no other test uses, and deletes every key
// under it when the test ends, so tests can share one server in parallel.
func testPrefix(t *testing.T, rawURL string) string {
	t.Helper()
	prefix := "presencetest:{" + uuid.NewString() + "}:"
	t.Cleanup(func() {
		opts, err := redis.ParseURL(rawURL)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		// t.Context is already done in cleanup.
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		var batch []string
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 100 {
				if err := rdb.Del(ctx, batch...).Err(); err != nil {
					t.Errorf("cleanup: delete keys: %v", err)
				}
				batch = batch[:0]
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleanup: scan %s*: %v", prefix, err)
		}
		if len(batch) > 0 {
			if err := rdb.Del(ctx, batch...).Err(); err != nil {
				t.Errorf("cleanup: delete keys: %v", err)
			}
		}
	})
	return prefix
}

// open opens a store at rawURL under prefix and closes it when the test ends.
func open(t *testing.T, rawURL, prefix string) *Store {
	t.Helper()
	s, err := Open(t.Context(), rawURL, Options{Prefix: prefix})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	rawURL := redisURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, rawURL, testPrefix(t, rawURL))
	})
}

func TestReopenKeepsData(t *testing.T) {
	rawURL := redisURL(t)
	prefix := testPrefix(t, rawURL)
	storetest.Reopen(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), rawURL, Options{Prefix: prefix})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// TestKeyLayout pins the keys docs/redis.md promises operators.
func TestKeyLayout(t *testing.T) {
	rawURL := redisURL(t)
	prefix := testPrefix(t, rawURL)
	s := open(t, rawURL, prefix)
	ctx := t.Context()
	if err := s.CreateCustomStatus(ctx, status.Custom{ID: "c1", Name: "Lunch", Presence: presence.Away}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, store.NewUser("u1")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutService(ctx, store.Service{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSettings(ctx, store.Settings{IdleLimit: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetPeak(ctx, 3); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"status:c1": "hash",
		"statuses":  "hash",
		"user:u1":   "hash",
		"users":     "set",
		"service":   "hash",
		"settings":  "hash",
		"peak":      "string",
	}
	for key, typ := range want {
		got, err := s.rdb.Type(ctx, prefix+key).Result()
		if err != nil || got != typ {
			t.Errorf("TYPE %s%s = %q, %v; want %q", prefix, key, got, err, typ)
		}
	}
	keys, err := s.rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(want) {
		t.Errorf("keys under %s = %v, want exactly %d", prefix, keys, len(want))
	}
	if got, err := s.rdb.HGet(ctx, prefix+"statuses", "lunch").Result(); err != nil || got != "c1" {
		t.Errorf("HGET %sstatuses lunch = %q, %v; want c1", prefix, got, err)
	}
	if got, err := s.rdb.HGet(ctx, prefix+"settings", "idle_limit").Result(); err != nil || got != "1m0s" {
		t.Errorf("HGET %ssettings idle_limit = %q, %v; want 1m0s", prefix, got, err)
	}
	// Deleting the only status leaves no empty index behind.
	if err := s.DeleteCustomStatus(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.rdb.Exists(ctx, prefix+"status:c1", prefix+"statuses").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS after delete = %d, %v; want 0", n, err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	// Port 1 (tcpmux) is not Redis anywhere we run; the dial is refused.
	const unreachable = "redis://127.0.0.1:1/0"
	start := time.Now()
	s, err := Open(t.Context(), unreachable, Options{})
	if err == nil {
		s.Close()
		t.Fatalf("Open(%q) succeeded", unreachable)
	}
	if elapsed := time.Since(start); elapsed > hangLimit {
		t.Errorf("Open of an unreachable Redis took %v", elapsed)
	}
	for _, want := range []string{"redisstore: dial", "127.0.0.1:1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open error %q does not contain %q", err, want)
		}
	}
}

// proxy forwards TCP to a Redis server until told to stop answering
// (silence) or to go away (close): the two ways a server is lost.
type proxy struct {
	ln     net.Listener
	target string
	silent atomic.Bool

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		p.wg.Go(func() { p.pipe(up, c) })
		p.wg.Go(func() { p.pipe(c, up) })
	}
}

// track records c and up for close, or closes them if the proxy is closed.
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	p.conns = append(p.conns, conns...)
	return true
}

// pipe copies src to dst, dropping everything while the proxy is silent: the
// client's requests vanish and it waits for replies that never come.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.silent.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
			}
			return
		}
	}
}

// close stops accepting, drops every connection and waits for its
// goroutines: the server is gone and its port refuses connections.
func (p *proxy) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.ln.Close()
		for _, c := range p.conns {
			c.Close()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// proxiedURL returns rawURL with its host replaced by the proxy's.
func proxiedURL(t *testing.T, rawURL string, p *proxy) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

// within runs call and fails the test if it has not returned by hangLimit.
func within(t *testing.T, name string, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	timer := time.NewTimer(hangLimit)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		t.Fatalf("%s hung for %v", name, hangLimit)
		return nil
	}
}

// lossCalls are the calls checked once the server is lost: a read, each kind
// of write (plain, script, transaction) and the readiness check.
func lossCalls(s *Store) map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"Ping":  s.Ping,
		"Users": func(ctx context.Context) error { _, err := s.Users(ctx); return err },
		"CreateCustomStatus": func(ctx context.Context) error {
			return s.CreateCustomStatus(ctx, status.Custom{ID: "c2", Name: "Gone", Presence: presence.Busy})
		},
		"RaisePeak": func(ctx context.Context) error { _, err := s.RaisePeak(ctx, 5); return err },
		"PutUser":   func(ctx context.Context) error { return s.PutUser(ctx, store.NewUser("u2")) },
	}
}

func TestServerGoesAway(t *testing.T) {
	rawURL := redisURL(t)
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, opts.Addr)
	s := open(t, proxiedURL(t, rawURL, p), testPrefix(t, rawURL))
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping through the proxy: %v", err)
	}

	p.close()
	for name, call := range lossCalls(s) {
		err := within(t, name, func() error { return call(t.Context()) })
		if err == nil {
			t.Errorf("%s after the server went away succeeded", name)
		} else if !strings.HasPrefix(err.Error(), "redisstore: ") {
			t.Errorf("%s after the server went away = %q, want a redisstore error", name, err)
		}
	}
}

func TestServerStopsAnswering(t *testing.T) {
	rawURL := redisURL(t)
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, opts.Addr)
	s, err := Open(t.Context(), proxiedURL(t, rawURL, p), Options{
		Prefix: testPrefix(t, rawURL),
		Dial:   DialOptions{ReadTimeout: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })

	p.silent.Store(true)
	for name, call := range lossCalls(s) {
		// The read timeout alone must end the call: no deadline on ctx.
		err := within(t, name, func() error { return call(t.Context()) })
		if err == nil {
			t.Errorf("%s against a silent server succeeded", name)
		}
	}
	// And a context deadline shorter than the read timeout ends it sooner.
	err = within(t, "Ping with a deadline", func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		return s.Ping(ctx)
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ping with a 20ms deadline against a silent server = %v, want DeadlineExceeded", err)
	}
}
