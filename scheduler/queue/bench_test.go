package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// counter signals when a target number of jobs have been handled.
type counter struct {
	n      atomic.Int64
	target atomic.Int64
	done   chan struct{}
}

func newCounter() *counter { return &counter{done: make(chan struct{}, 1)} }

func (c *counter) hit() {
	if c.n.Add(1) == c.target.Load() {
		c.done <- struct{}{}
	}
}

// expect arms the counter for n more jobs.
func (c *counter) expect(n int64) { c.target.Store(c.n.Load() + n) }

func (c *counter) wait(tb testing.TB) {
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		tb.Fatalf("handled %d jobs, want %d", c.n.Load(), c.target.Load())
	}
}

// BenchmarkQueueThroughput measures jobs/s end to end (enqueue to handled
// and acknowledged) with a no-op handler and 4 workers of 64 goroutines
// each, against a naive
// queue measured in the same run on the same server: LPUSH one job per
// round trip, 4 workers each BRPOP one job per round trip.
func BenchmarkQueueThroughput(b *testing.B) {
	n := 5000
	if testing.Short() {
		n = 500
	}
	rdb := redistest.Start(b)
	ctx := context.Background()
	q, err := New(rdb, Options{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	done := newCounter()
	for i := range 4 {
		runWorker(b, q, fmt.Sprintf("w%d", i), 64, HandlerFunc(func(context.Context, Job) error {
			done.hit()
			return nil
		}))
	}
	naive := newCounter()
	stopNaive := runNaive(b, rdb, 4, naive.hit)
	defer stopNaive()

	batch := jobs("bench", n, LaneBulk)
	var queueTook, naiveTook time.Duration
	for b.Loop() {
		start := time.Now()
		done.expect(int64(n))
		for i := 0; i < n; i += 500 {
			if err := q.Enqueue(ctx, batch[i:min(i+500, n)]...); err != nil {
				b.Fatal(err)
			}
		}
		done.wait(b)
		queueTook += time.Since(start)

		start = time.Now()
		naive.expect(int64(n))
		for _, j := range batch {
			if err := rdb.LPush(ctx, naiveKey, encode(j)).Err(); err != nil {
				b.Fatal(err)
			}
		}
		naive.wait(b)
		naiveTook += time.Since(start)
	}
	total := float64(n) * float64(b.N)
	qps, nps := total/queueTook.Seconds(), total/naiveTook.Seconds()
	b.ReportMetric(qps, "jobs/s")
	b.ReportMetric(nps, "naive-jobs/s")
	b.ReportMetric(qps/nps, "x-naive")
}

const naiveKey = "kb:{naive}:list"

// runNaive runs workers of the naive list queue; stop waits for them.
func runNaive(tb testing.TB, rdb redis.UniversalClient, workers int, handle func()) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := rdb.BRPop(ctx, time.Second, naiveKey).Result()
				if errors.Is(err, redis.Nil) || ctx.Err() != nil {
					continue
				}
				if err != nil {
					tb.Error(err)
					return
				}
				handle()
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}
