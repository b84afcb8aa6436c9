package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/presenced/presenced/internal/testproc"
	"github.com/redis/go-redis/v9"
)

// readyz returns /readyz's status and body.
func readyz(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// untilReadyz polls /readyz until it answers code and returns how long
// that took and the body, failing past limit.
func untilReadyz(t *testing.T, addr string, code int, limit time.Duration) (time.Duration, string) {
	t.Helper()
	began := time.Now()
	for {
		got, body := readyz(t, addr)
		if got == code {
			return time.Since(began), body
		}
		if time.Since(began) > limit {
			t.Fatalf("/readyz still %d %q after %v, want %d", got, body, limit, code)
		}
		time.Sleep(20 * time.Millisecond) // /readyz is what an operator's probe sees: poll it
	}
}

// TestReadinessFollowsRedis: with Redis killed and nothing written, /readyz
// turns 503 within about a second and says why; with Redis back, 200 again.
func TestReadinessFollowsRedis(t *testing.T) {
	port := testproc.FreePort(t)
	redis := testproc.StartRedis(t, port, t.TempDir())
	p := startProc(t, nil, "-dev", "-redis", fmt.Sprintf("redis://127.0.0.1:%d/0", port))
	untilReadyz(t, p.addr, http.StatusOK, 5*time.Second)

	redis.Stop(syscall.SIGKILL, 10*time.Second)
	took, body := untilReadyz(t, p.addr, http.StatusServiceUnavailable, 5*time.Second)
	t.Logf("503 %v after Redis died: %q", took, body)
	if took > 1500*time.Millisecond {
		t.Errorf("/readyz turned 503 %v after Redis died, want within about a second", took)
	}
	if !strings.Contains(body, "not ready: the store is unreachable") {
		t.Errorf("/readyz body %q does not say why", body)
	}

	testproc.StartRedis(t, port, t.TempDir())
	took, _ = untilReadyz(t, p.addr, http.StatusOK, 10*time.Second)
	t.Logf("200 %v after Redis came back", took)
	if took > 3*time.Second {
		t.Errorf("/readyz 200 again %v after Redis came back, want within a few seconds", took)
	}
}

// TestStoreAndNodeShareOneClient: the store and the cluster backplane use
// one Redis client. Once both have worked (the store's readiness probe, the
// node's registration and its subscription), the process holds as many
// connections to Redis as one go-redis client with the same options holds
// after a ping, a transaction and a subscription (with a pool of one: one
// for commands, one for transactions, one subscribed, in go-redis v9.23).
// A second client would add its own.
func TestStoreAndNodeShareOneClient(t *testing.T) {
	port := testproc.FreePort(t)
	testproc.StartRedis(t, port, t.TempDir())
	ctx := context.Background()
	named := func(name string) int {
		t.Helper()
		admin := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
		defer admin.Close()
		list, err := admin.ClientList(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(list, " name="+name+" ")
	}
	url := fmt.Sprintf("redis://127.0.0.1:%d/0?pool_size=1&client_name=", port)

	o, err := redis.ParseURL(url + "one-client")
	if err != nil {
		t.Fatal(err)
	}
	one := redis.NewClient(o)
	defer one.Close()
	one.Ping(ctx)
	if _, err := one.TxPipelined(ctx, func(p redis.Pipeliner) error { return p.Ping(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	sub := one.Subscribe(ctx, "any")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	want := named("one-client")

	p := startProc(t, nil, "-dev", "-node-id", "under-test", "-redis", url+"presenced-under-test")
	untilReadyz(t, p.addr, http.StatusOK, 5*time.Second)
	// What Redis sees of the node: its registration (a transaction) and
	// its subscription.
	testproc.Until(t, "the node registered and subscribed", 5*time.Second, func() error {
		if !one.SIsMember(ctx, "{presence}:nodes", "under-test").Val() ||
			one.PubSubNumSub(ctx, "{presence}:events").Val()["{presence}:events"] == 0 {
			return errors.New("not yet")
		}
		return nil
	})
	if got := named("presenced-under-test"); got != want {
		t.Errorf("presenced holds %d connections to Redis; one client holds %d", got, want)
	}
}
