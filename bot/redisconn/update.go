package redisconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ErrContention is an optimistic update that lost to other writers
// updateRetries times in a row.
var ErrContention = errors.New("too much contention")

// updateRetries bounds the retries of UpdateJSON.
const updateRetries = 20

// UpdateJSON reads the JSON value at key into a T, lets fn change it and
// writes it back, atomically against other writers: WATCH, then MULTI,
// tried again when the key changed in between. A missing key is notFound;
// an error from fn writes nothing and is returned as it is.
func UpdateJSON[T any](ctx context.Context, rdb redis.UniversalClient, key string, notFound error, fn func(*T) error) (*T, error) {
	var out *T
	for range updateRetries {
		err := rdb.Watch(ctx, func(tx *redis.Tx) error {
			b, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return notFound
			}
			if err != nil {
				return err
			}
			var v T
			if err := json.Unmarshal(b, &v); err != nil {
				return err
			}
			if err := fn(&v); err != nil {
				return err
			}
			nb, err := json.Marshal(&v)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, nb, 0)
				return nil
			})
			out = &v
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return out, err
	}
	return nil, fmt.Errorf("update %s: %w", key, ErrContention)
}
