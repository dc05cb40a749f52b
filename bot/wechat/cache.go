package wechat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// minTokenTTL is used when the SDK asks to cache a token for a non-positive
// time: it subtracts a safety margin from expires_in, and a stable token
// near the end of its life comes back with little left. go-redis would
// store a negative TTL without expiry (or, for -1, KEEPTTL).
const minTokenTTL = 30 * time.Second

// redisCache is the SDK's cache.Cache over go-redis v9. The interface has
// no context, so each command gets its own short timeout.
type redisCache struct {
	rdb     redis.UniversalClient
	timeout time.Duration
}

func (c *redisCache) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.timeout)
}

// Get returns the string stored at key, or nil when there is none (or Redis
// fails: the SDK then fetches a token, which is the safe direction).
func (c *redisCache) Get(key string) any {
	ctx, cancel := c.ctx()
	defer cancel()
	v, err := c.rdb.Get(ctx, key).Result()
	if err != nil {
		return nil
	}
	return v
}

// Set stores a string (or []byte) value with a TTL.
func (c *redisCache) Set(key string, val any, timeout time.Duration) error {
	var s string
	switch v := val.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("cache set %s: unsupported value type %T", key, val)
	}
	if timeout <= 0 {
		timeout = minTokenTTL
	}
	ctx, cancel := c.ctx()
	defer cancel()
	if err := c.rdb.Set(ctx, key, s, timeout).Err(); err != nil {
		return fmt.Errorf("cache set %s: %w", key, err)
	}
	return nil
}

// IsExist reports whether key exists.
func (c *redisCache) IsExist(key string) bool {
	ctx, cancel := c.ctx()
	defer cancel()
	n, err := c.rdb.Exists(ctx, key).Result()
	return err == nil && n > 0
}

// Delete removes key.
func (c *redisCache) Delete(key string) error {
	ctx, cancel := c.ctx()
	defer cancel()
	if err := c.rdb.Del(ctx, key).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("cache delete %s: %w", key, err)
	}
	return nil
}
