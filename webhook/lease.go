package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease elects one holder among the nodes of a cluster: the one that sends
// webhooks. A holder renews it well within its TTL; a holder that dies stops
// renewing, and another node takes it once it expires.
type Lease interface {
	// Hold takes the lease for ttl if it is free, or renews it for ttl if
	// this node holds it, and reports whether this node holds it now.
	Hold(ctx context.Context, ttl time.Duration) (bool, error)
	// Release gives the lease up if this node holds it, so another node
	// can take it at once rather than after the TTL.
	Release(ctx context.Context) error
}

var _ Lease = (*RedisLease)(nil)

// RedisLease is a Lease in one Redis key holding its holder's token: taken
// with SET NX PX, renewed and released by scripts that first compare the
// token, so a node never extends or deletes a lease another node took.
type RedisLease struct {
	rdb   redis.UniversalClient
	key   string
	token string
}

// DefaultLeasePrefix puts the lease key in the {presence} hash slot, beside
// the workspace's other keys on Redis Cluster.
const DefaultLeasePrefix = "{presence}:"

// NewRedisLease returns the lease at key prefix+"webhook:lease" (prefix
// default DefaultLeasePrefix; give it the workspace's hash tag), held under
// token, which must be unique per process: the node id.
func NewRedisLease(rdb redis.UniversalClient, prefix, token string) *RedisLease {
	if prefix == "" {
		prefix = DefaultLeasePrefix
	}
	return &RedisLease{rdb: rdb, key: prefix + "webhook:lease", token: token}
}

// renewScript extends the lease if it still holds the caller's token.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes the lease if it still holds the caller's token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Hold implements Lease.
func (l *RedisLease) Hold(ctx context.Context, ttl time.Duration) (bool, error) {
	ms := ttl.Milliseconds()
	renewed, err := renewScript.Run(ctx, l.rdb, []string{l.key}, l.token, ms).Int()
	if err != nil {
		return false, fmt.Errorf("renew webhook lease: %w", err)
	}
	if renewed == 1 {
		return true, nil
	}
	taken, err := l.rdb.SetNX(ctx, l.key, l.token, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("take webhook lease: %w", err)
	}
	return taken, nil
}

// Release implements Lease.
func (l *RedisLease) Release(ctx context.Context) error {
	if err := releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Err(); err != nil {
		return fmt.Errorf("release webhook lease: %w", err)
	}
	return nil
}
