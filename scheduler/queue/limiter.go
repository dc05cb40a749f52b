package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Limit is a rate: Rate events per Per, with bursts of up to Burst events
// (at least 1).
type Limit struct {
	Rate  int
	Per   time.Duration
	Burst int
}

// Limiter is a rate limiter shared by every replica: the GCRA state of each
// key lives in Redis (github.com/go-redis/redis_rate), and time is Redis's
// own clock, so replicas with skewed clocks still agree.
type Limiter struct {
	rl *redis_rate.Limiter
}

// NewLimiter returns a limiter over rdb.
func NewLimiter(rdb redis.UniversalClient) *Limiter {
	return &Limiter{rl: redis_rate.NewLimiter(rdb)}
}

// Wait blocks until one event under key is allowed by limit, or ctx ends.
// Every replica that waits on the same key with the same limit shares it,
// e.g. key "wechat:custom_send" for one WeChat API.
func (l *Limiter) Wait(ctx context.Context, key string, limit Limit) error {
	return l.WaitN(ctx, key, limit, 1)
}

// WaitN blocks until n events under key are allowed by limit (n at most
// the burst), or ctx ends: a batch of sends takes its tokens in one round
// trip.
func (l *Limiter) WaitN(ctx context.Context, key string, limit Limit, n int) error {
	if n < 1 || n > max(limit.Burst, 1) {
		return fmt.Errorf("rate limit %s: %d events exceed the burst of %d", key, n, max(limit.Burst, 1))
	}
	if limit.Rate <= 0 || limit.Per <= 0 || limit.Burst < 0 {
		return fmt.Errorf("rate limit %s: invalid limit %+v", key, limit)
	}
	if key == "" {
		return errors.New("rate limit: empty key")
	}
	rl := redis_rate.Limit{Rate: limit.Rate, Period: limit.Per, Burst: max(limit.Burst, 1)}
	for {
		res, err := l.rl.AllowN(ctx, rateKey(key), rl, n)
		if err != nil {
			return fmt.Errorf("rate limit %s: %w", key, err)
		}
		if res.Allowed > 0 {
			return nil
		}
		t := time.NewTimer(max(res.RetryAfter, time.Millisecond))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}
