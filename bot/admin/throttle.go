package admin

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed scripts/throttle.lua
var throttleLua string

// throttleScript reserves an attempt on several counters at once (see
// scripts/throttle.lua for KEYS, ARGV and the answer).
var throttleScript = redis.NewScript(throttleLua)

// Throttle slows down repeated failures (logins, bearer tokens) with an
// exponential back-off instead of a hard lock-out: after Free attempts a
// counter makes each next one wait Base, then twice as long, up to
// ThrottleCap since the last. Reserving an attempt and checking the
// counters is one atomic step, so parallel attempts cannot all slip in
// before any is counted.
type Throttle struct {
	rdb redis.UniversalClient
	now func() time.Time
}

// Counter is one throttle counter: its Redis key (the caller's store
// builds it), the attempts it allows without delay and the first delay.
type Counter struct {
	Key  string
	Free int
	Base time.Duration
}

// Throttle limits.
const (
	// ThrottleCap is the longest back-off delay.
	ThrottleCap = 15 * time.Minute
	// throttleTTL is how long a counter lives after its last attempt.
	throttleTTL = time.Hour
)

// bearerFailKey counts wrong bearer tokens from a client address.
func bearerFailKey(ip string) string { return "kb:{admin}:fail:bearer:" + ip }

// NewThrottle returns a throttle over rdb; now may be nil (time.Now).
func NewThrottle(rdb redis.UniversalClient, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{rdb: rdb, now: now}
}

// Reserve counts one attempt on every counter, or counts nothing and
// returns how long to wait while any of them is backing off. The keys of
// one call share a hash tag (one script touches them all).
func (t *Throttle) Reserve(ctx context.Context, cs ...Counter) (wait time.Duration, err error) {
	keys := make([]string, len(cs))
	args := []any{t.now().UnixMilli(), throttleTTL.Milliseconds(), ThrottleCap.Milliseconds()}
	for i, c := range cs {
		keys[i] = c.Key
		args = append(args, strconv.Itoa(c.Free)+","+strconv.FormatInt(max(c.Base.Milliseconds(), 1), 10))
	}
	ms, err := throttleScript.Run(ctx, t.rdb, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("throttle: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Wait returns how long an attempt would wait now, counting nothing.
func (t *Throttle) Wait(ctx context.Context, cs ...Counter) (time.Duration, error) {
	now := t.now().UnixMilli()
	var wait time.Duration
	for _, c := range cs {
		v, err := t.rdb.HMGet(ctx, c.Key, "n", "last").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return 0, fmt.Errorf("throttle: %w", err)
		}
		n, _ := strconv.Atoi(str(v[0]))
		last, _ := strconv.ParseInt(str(v[1]), 10, 64)
		if n < c.Free {
			continue
		}
		delay := min(c.Base<<min(n-c.Free, 40), ThrottleCap)
		if delay <= 0 {
			delay = ThrottleCap
		}
		if d := time.Duration(last-now)*time.Millisecond + delay; d > wait {
			wait = d
		}
	}
	return wait, nil
}

func str(v any) string { s, _ := v.(string); return s }

// Reset forgets the counters of keys (after a success).
func (t *Throttle) Reset(ctx context.Context, keys ...string) error {
	if err := t.rdb.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// Forgive takes one counted attempt back from key (a success on a shared
// counter, such as an office's address).
func (t *Throttle) Forgive(ctx context.Context, key string) error {
	_, err := t.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HIncrBy(ctx, key, "n", -1)
		p.PExpire(ctx, key, throttleTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}
