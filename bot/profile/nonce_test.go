package profile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// oldRedisHook makes SET ... GET a syntax error in the real redis-server
// (its GET option becomes an unknown one), as Redis before 7.0 answers
// SET NX GET.
type oldRedisHook struct{}

func (oldRedisHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (oldRedisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if args := cmd.Args(); strings.EqualFold(cmd.Name(), "set") {
			for i, a := range args {
				if s, ok := a.(string); ok && i > 2 && strings.EqualFold(s, "get") {
					args[i] = "getx"
				}
			}
		}
		return next(ctx, cmd)
	}
}
func (oldRedisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// ClaimNonce binds a (timestamp, nonce) pair to its first message: the
// same message again passes, another is ErrNonceReused, and the claim
// lapses with its ttl. The same on a Redis that refuses SET NX GET.
func TestClaimNonce(t *testing.T) {
	t.Parallel()
	for _, old := range []bool{false, true} {
		rdb := redistest.Start(t)
		if old {
			rdb.AddHook(oldRedisHook{})
		}
		ctx := context.Background()
		s, err := NewStore(ctx, rdb, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		claim := func(ts, nonce, msg string) error {
			return s.ClaimNonce(ctx, "default", ts, nonce, msg, 200*time.Millisecond)
		}
		for _, step := range []struct {
			ts, nonce, msg string
			want           error
		}{
			{"1795000000", "111", "m:a:1", nil},
			{"1795000000", "111", "m:a:1", nil},             // WeChat's retry
			{"1795000000", "111", "m:a:2", ErrNonceReused},  // another body
			{"1795000000", "112", "m:a:2", nil},             // another nonce
			{"1795000001", "111", "m:a:2", nil},             // another timestamp
			{"1795000000", "1{1}", "m:a:3", ErrNonceReused}, // not a nonce
			{"17950x0000", "113", "m:a:3", ErrNonceReused},  // not a timestamp
		} {
			if err := claim(step.ts, step.nonce, step.msg); !errors.Is(err, step.want) && err != step.want {
				t.Errorf("old=%v: ClaimNonce(%s, %s, %s) = %v, want %v", old, step.ts, step.nonce, step.msg, err, step.want)
			}
		}
		if s.noSetNXGet.Load() != old {
			t.Errorf("old=%v: store fell back to MULTI: %v", old, s.noSetNXGet.Load())
		}
		ttl, err := rdb.PTTL(ctx, nonceKey("default", "1795000000", "111")).Result()
		if err != nil || ttl <= 0 || ttl > 200*time.Millisecond {
			t.Errorf("old=%v: claim ttl = %v, %v; want (0, 200ms]", old, ttl, err)
		}
		time.Sleep(300 * time.Millisecond)
		if err := claim("1795000000", "111", "m:a:2"); err != nil {
			t.Errorf("old=%v: after the ttl, the pair is free again: %v", old, err)
		}
	}
}
