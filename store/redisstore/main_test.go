package redisstore

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: a store
// that leaks one per Open would leak one per reconnect in production.
func TestMain(m *testing.M) {
	// go-redis logs every failed dial; a killed master makes hundreds.
	redis.SetLogger(quiet{})
	goleak.VerifyTestMain(m,
		// After a failed dial, go-redis probes the address once a second
		// until it answers or the pool is closed; the probe of a closed pool
		// ends at its next wake-up.
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"),
	)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
