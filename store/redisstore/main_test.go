package redisstore

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: a store
// that leaks one per Open would leak one per reconnect in production.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
