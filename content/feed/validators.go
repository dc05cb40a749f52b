package feed

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Validators remembers, per source, the ETag and Last-Modified of the last
// good answer, so the next pull can be conditional.
type Validators interface {
	// Get returns the remembered validators; empty strings when none.
	Get(ctx context.Context, name string) (etag, lastModified string, err error)
	// Set remembers them; both empty forgets the source.
	Set(ctx context.Context, name, etag, lastModified string) error
}

// RedisValidators keeps validators in Redis, one hash per source at
// kb:{feeds}:<name> with fields etag and last_modified.
type RedisValidators struct {
	rdb redis.UniversalClient
}

// NewRedisValidators returns validators stored through rdb.
func NewRedisValidators(rdb redis.UniversalClient) *RedisValidators {
	return &RedisValidators{rdb: rdb}
}

// validatorsKey is the one place feed keys are built. The {feeds} hash tag
// keeps every feed's key in one Redis Cluster slot.
func validatorsKey(name string) string { return "kb:{feeds}:" + name }

// Get implements Validators.
func (r *RedisValidators) Get(ctx context.Context, name string) (etag, lastModified string, err error) {
	vals, err := r.rdb.HMGet(ctx, validatorsKey(name), "etag", "last_modified").Result()
	if err != nil {
		return "", "", fmt.Errorf("get feed validators %s: %w", name, err)
	}
	etag, _ = vals[0].(string)
	lastModified, _ = vals[1].(string)
	return etag, lastModified, nil
}

// Set implements Validators.
func (r *RedisValidators) Set(ctx context.Context, name, etag, lastModified string) error {
	key := validatorsKey(name)
	var err error
	if etag == "" && lastModified == "" {
		err = r.rdb.Del(ctx, key).Err()
	} else {
		err = r.rdb.HSet(ctx, key, "etag", etag, "last_modified", lastModified).Err()
	}
	if err != nil {
		return fmt.Errorf("set feed validators %s: %w", name, err)
	}
	return nil
}
