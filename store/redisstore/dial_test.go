package redisstore

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestDialForms checks what client each URL form builds, without a server.
func TestDialForms(t *testing.T) {
	t.Run("server", func(t *testing.T) {
		rdb := mustClient(t, "redis://u:pw@127.0.0.1:6500/3?pool_size=7")
		o := rdb.(*redis.Client).Options()
		if o.Addr != "127.0.0.1:6500" || o.DB != 3 || o.Username != "u" || o.Password != "pw" || o.PoolSize != 7 || o.TLSConfig != nil {
			t.Errorf("options = addr %s db %d user %q pw %q pool %d tls %v", o.Addr, o.DB, o.Username, o.Password, o.PoolSize, o.TLSConfig != nil)
		}
		failsFast(t, o.DialTimeout, o.ReadTimeout, o.MaxRetries, o.DialerRetries)
	})
	t.Run("server TLS", func(t *testing.T) {
		if o := mustClient(t, "rediss://redis.example:6380/0").(*redis.Client).Options(); o.TLSConfig == nil || o.TLSConfig.ServerName != "redis.example" {
			t.Errorf("rediss:// TLS config = %+v", o.TLSConfig)
		}
	})
	t.Run("sentinel", func(t *testing.T) {
		// A failover client keeps its options to itself: build them as Dial does.
		o, err := parseSentinelURL(false, "u:p%40ss@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/2?sentinel_password=sp&dial_timeout=3s")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"10.0.0.1:26379", "10.0.0.2:26379", "[::1]:26380"}
		if !slices.Equal(o.SentinelAddrs, want) || o.MasterName != "mymaster" || o.DB != 2 {
			t.Errorf("sentinels %v master %q db %d; want %v mymaster 2", o.SentinelAddrs, o.MasterName, o.DB, want)
		}
		if o.Username != "u" || o.Password != "p@ss" || o.SentinelPassword != "sp" || o.SentinelUsername != "" || o.DialTimeout != 3*time.Second {
			t.Errorf("user %q pw %q sentinel pw %q dial %v", o.Username, o.Password, o.SentinelPassword, o.DialTimeout)
		}
		if _, ok := mustClient(t, "redis+sentinel://127.0.0.1:26379/mymaster").(*redis.Client); !ok {
			t.Error("a sentinel URL does not make a *redis.Client")
		}
		if o, _ := parseSentinelURL(true, "h:26379/m"); o == nil || o.TLSConfig == nil {
			t.Error("rediss+sentinel:// has no TLS config")
		}
	})
	t.Run("cluster", func(t *testing.T) {
		rdb := mustClient(t, "redis+cluster://u:pw@127.0.0.1:7000,127.0.0.1:7001,127.0.0.2?read_timeout=2s")
		o := rdb.(*redis.ClusterClient).Options()
		want := []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.2:6379"}
		if !slices.Equal(o.Addrs, want) || o.Username != "u" || o.Password != "pw" || o.ReadTimeout != 2*time.Second {
			t.Errorf("addrs %v user %q pw %q read %v; want %v", o.Addrs, o.Username, o.Password, o.ReadTimeout, want)
		}
		failsFast(t, o.DialTimeout, time.Second, o.MaxRetries, o.DialerRetries)
	})
}

func mustClient(t *testing.T, rawURL string) redis.UniversalClient {
	t.Helper()
	rdb, _, err := newClient(rawURL, DialOptions{})
	if err != nil {
		t.Fatalf("newClient(%q): %v", rawURL, err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func failsFast(t *testing.T, dial, read time.Duration, maxRetries, dialerRetries int) {
	t.Helper()
	if dial != DefaultDialTimeout || read > time.Second*2 || maxRetries > 0 || dialerRetries != 1 {
		t.Errorf("dial %v read %v retries %d dial retries %d; want 1s, fail fast", dial, read, maxRetries, dialerRetries)
	}
}

func TestDialBadURL(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"127.0.0.1:6379", "write redis://127.0.0.1:6379/0"},
		{"localhost:6379", "write redis://localhost:6379/0"},
		{"user:hunter2@localhost:6379", "write redis://host:port/0"},
		{"http://127.0.0.1:6379", `unknown scheme "http"`},
		{"redis://user:hunter2@[::1", "invalid redis URL"},
		{"redis://127.0.0.1:6379/notadb", "invalid redis URL"},
		{"redis+sentinel://127.0.0.1:26379", "names its master"},
		{"redis+sentinel://127.0.0.1:26379/m/x", `db "x" is not a number`},
		{"redis+sentinel://127.0.0.1:26379,/m", "empty host"},
		{"redis+sentinel://127.0.0.1:26379/m?bogus=1", "unexpected option: bogus"},
		{"redis+cluster://127.0.0.1:7000/1", "only db 0"},
		{"redis+cluster://user:hunter2@127.0.0.1:7000?bogus=1", "unexpected option: bogus"},
	} {
		rdb, err := Dial(t.Context(), tt.url, DialOptions{})
		if err == nil {
			rdb.Close()
			t.Errorf("Dial(%q) succeeded", tt.url)
			continue
		}
		if !strings.HasPrefix(err.Error(), "redisstore: dial: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Dial(%q) = %q, want it to contain %q", tt.url, err, tt.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Dial(%q) error %q leaks the password", tt.url, err)
		}
	}
}

func TestHasHashTag(t *testing.T) {
	for key, want := range map[string]bool{
		"{presence}:": true, "ws:{acme}:": true, "presence:": false, "{}:": false, "{presence:": false, "}{x}": true,
	} {
		if got := HasHashTag(key); got != want {
			t.Errorf("HasHashTag(%q) = %v, want %v", key, got, want)
		}
	}
}
