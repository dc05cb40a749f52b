package wechat

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
//
// Every API call reads the access token (twice: ours and the SDK's), so
// values read are kept in memory for localTTL: a send then costs WeChat's
// round trip alone, not two Redis ones. A token another replica replaced
// within that time fails with 40001 at worst, which drops it (Delete, or
// dropToken) and the call's retry reads the fresh one from Redis.
type redisCache struct {
	rdb     redis.UniversalClient
	timeout time.Duration

	mu    sync.Mutex
	local map[string]localValue
	gen   uint64 // bumped by every forget: a read that began before one is not kept
}

// localTTL is how long a value read from Redis is served from memory.
const localTTL = 5 * time.Second

type localValue struct {
	v     string
	until time.Time
}

func (c *redisCache) remember(key, v string, ttl time.Duration, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return // forgotten meanwhile: v may be the token just rejected
	}
	if c.local == nil {
		c.local = map[string]localValue{}
	}
	c.local[key] = localValue{v: v, until: time.Now().Add(min(ttl, localTTL))}
}

// forget drops key from memory (the token was replaced or rejected).
func (c *redisCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.local, key)
	c.gen++
}

func (c *redisCache) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.timeout)
}

// Get returns the string stored at key, or nil when there is none (or Redis
// fails: the SDK then fetches a token, which is the safe direction).
func (c *redisCache) Get(key string) any {
	c.mu.Lock()
	lv, ok := c.local[key]
	gen := c.gen
	c.mu.Unlock()
	if ok && time.Now().Before(lv.until) {
		return lv.v
	}
	ctx, cancel := c.ctx()
	defer cancel()
	v, err := c.rdb.Get(ctx, key).Result()
	if err != nil {
		return nil
	}
	ttl := localTTL
	if d, err := c.rdb.PTTL(ctx, key).Result(); err == nil && d > 0 {
		ttl = d
	}
	c.remember(key, v, ttl, gen)
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
	c.forget(key)
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
	c.forget(key)
	ctx, cancel := c.ctx()
	defer cancel()
	if err := c.rdb.Del(ctx, key).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("cache delete %s: %w", key, err)
	}
	return nil
}
