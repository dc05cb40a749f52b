package campaigntest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// The baselines the delivery benchmarks (BenchmarkCustomMessages,
// `kepubot bench`) compare kepubot with, in the same run, on the same
// Redis and the same fake WeChat: what a team would write without
// kepubot's per-message states.

// Send sends one message (a customer-service call) to openID.
type Send func(ctx context.Context, openID string) error

// SendBatch sends one mass send to a list of openids.
type SendBatch func(ctx context.Context, openIDs []string) error

// AsynqPerMessage sends one message per asynq task to each openid, with
// concurrency workers, and returns messages per second, enqueueing
// included. queue names the asynq queue (a fresh one per run).
func AsynqPerMessage(ctx context.Context, opt asynq.RedisConnOpt, send Send, openIDs []string, concurrency int, within time.Duration) (float64, error) {
	var done atomic.Int64
	server := asynq.NewServer(opt, asynq.Config{Concurrency: concurrency, LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc("send", func(ctx context.Context, t *asynq.Task) error {
		if err := send(ctx, string(t.Payload())); err != nil {
			return err
		}
		done.Add(1)
		return nil
	})
	start := time.Now()
	if err := server.Start(mux); err != nil {
		return 0, fmt.Errorf("asynq baseline: %w", err)
	}
	defer server.Shutdown()
	q := asynq.NewClient(opt)
	defer q.Close()
	for _, o := range openIDs {
		if _, err := q.EnqueueContext(ctx, asynq.NewTask("send", []byte(o)), asynq.MaxRetry(3)); err != nil {
			return 0, fmt.Errorf("asynq baseline: %w", err)
		}
	}
	if err := waitFor(ctx, &done, int64(len(openIDs)), within); err != nil {
		return 0, fmt.Errorf("asynq baseline: %w", err)
	}
	return float64(len(openIDs)) / time.Since(start).Seconds(), nil
}

// NaiveQueue sends one message per job through a Redis list (LPUSH, then
// BRPOP and send, by workers workers) and returns messages per second,
// enqueueing included. key is the list's key (a fresh one per run).
func NaiveQueue(ctx context.Context, rdb redis.UniversalClient, key string, send Send, openIDs []string, workers int) (float64, error) {
	start := time.Now()
	for i := 0; i < len(openIDs); i += 1000 {
		vals := make([]any, 0, 1000)
		for _, o := range openIDs[i:min(i+1000, len(openIDs))] {
			vals = append(vals, o)
		}
		if err := rdb.LPush(ctx, key, vals...).Err(); err != nil {
			return 0, fmt.Errorf("naive baseline: %w", err)
		}
	}
	err := drain(ctx, rdb, key, workers, func(ctx context.Context, v string) error { return send(ctx, v) })
	if err != nil {
		return 0, fmt.Errorf("naive baseline: %w", err)
	}
	return float64(len(openIDs)) / time.Since(start).Seconds(), nil
}

// BareBatches sends the same openid lists a mass send would (batches of
// size) through a bare Redis list queue, one job per list, with no
// per-recipient bookkeeping at all, and returns recipients per second.
func BareBatches(ctx context.Context, rdb redis.UniversalClient, key string, send SendBatch, openIDs []string, size, workers int) (float64, error) {
	start := time.Now()
	for i := 0; i < len(openIDs); i += size {
		// A job is the list itself, as a bare queue would carry it.
		b := openIDs[i:min(i+size, len(openIDs))]
		vals := make([]byte, 0, len(b)*30)
		for k, o := range b {
			if k > 0 {
				vals = append(vals, ',')
			}
			vals = append(vals, o...)
		}
		if err := rdb.LPush(ctx, key, vals).Err(); err != nil {
			return 0, fmt.Errorf("bare batch baseline: %w", err)
		}
	}
	err := drain(ctx, rdb, key, workers, func(ctx context.Context, v string) error { return send(ctx, splitComma(v)) })
	if err != nil {
		return 0, fmt.Errorf("bare batch baseline: %w", err)
	}
	return float64(len(openIDs)) / time.Since(start).Seconds(), nil
}

// drain pops and handles key's jobs with workers workers until it is empty.
func drain(ctx context.Context, rdb redis.UniversalClient, key string, workers int, handle func(context.Context, string) error) error {
	var wg sync.WaitGroup
	var first error
	var mu sync.Mutex
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				v, err := rdb.RPop(ctx, key).Result()
				if err == redis.Nil {
					return
				}
				if err == nil {
					err = handle(ctx, v)
				}
				if err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func waitFor(ctx context.Context, n *atomic.Int64, want int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for n.Load() < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d done after %v", n.Load(), want, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
