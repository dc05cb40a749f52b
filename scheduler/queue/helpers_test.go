package queue

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestMarks(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	m := NewMarks(b.rdb)
	ctx := context.Background()
	for _, tc := range []struct {
		bit       int64
		wantFirst bool
	}{{17, true}, {17, false}, {1_499_999, true}, {0, true}} {
		if got, err := m.MarkOnce(ctx, "camp42", tc.bit); err != nil || got != tc.wantFirst {
			t.Errorf("MarkOnce(camp42, %d) = %v, %v; want %v, nil", tc.bit, got, err, tc.wantFirst)
		}
	}
	if n, err := m.CountMarked(ctx, "camp42"); err != nil || n != 3 {
		t.Errorf("CountMarked = %d, %v; want 3, nil", n, err)
	}
	if err := m.Unmark(ctx, "camp42", 17); err != nil {
		t.Fatal(err)
	}
	if got, err := m.IsMarked(ctx, "camp42", 17); err != nil || got {
		t.Errorf("IsMarked after Unmark = %v, %v; want false, nil", got, err)
	}
	if _, err := m.MarkOnce(ctx, "camp42", -1); err == nil {
		t.Error("MarkOnce(-1) = nil error")
	}
	if err := m.Forget(ctx, "camp42"); err != nil {
		t.Fatal(err)
	}
	if n, _ := m.CountMarked(ctx, "camp42"); n != 0 {
		t.Errorf("CountMarked after Forget = %d, want 0", n)
	}

	// Of many racing workers exactly one wins each bit.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			for bit := range int64(100) {
				if first, err := m.MarkOnce(ctx, "race", bit); err == nil && first {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if wins != 100 {
		t.Errorf("%d first marks for 100 bits, want 100", wins)
	}
}

func TestRateLimitSharedByWorkers(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ctx := context.Background()
	lim := NewLimiter(b.rdb)
	limit := Limit{Rate: 20, Per: 200 * time.Millisecond, Burst: 2} // one per 10ms
	const m = 60
	var mu sync.Mutex
	var calls []time.Time
	h := HandlerFunc(func(ctx context.Context, _ Job) error {
		if err := lim.Wait(ctx, "wechat:custom_send", limit); err != nil {
			return err
		}
		mu.Lock()
		calls = append(calls, time.Now())
		mu.Unlock()
		return nil
	})
	// Three workers, as on three replicas, each with its own limiter.
	for _, c := range []string{"r1", "r2", "r3"} {
		q := setupOn(t, b.rdb, Options{}).q
		runWorker(t, q, c, 4, h)
	}
	if err := b.q.Enqueue(ctx, jobs("rl", m, LaneBulk)...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "every job", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) == m
	})
	mu.Lock()
	defer mu.Unlock()
	slices.SortFunc(calls, func(a, b time.Time) int { return a.Compare(b) })
	// In any window of Per, at most Burst + Rate calls (one of slack for
	// the time between Redis allowing a call and the handler recording it).
	maxIn := 0
	for i := range calls {
		n := 0
		for _, c := range calls[i:] {
			if c.Sub(calls[i]) >= limit.Per {
				break
			}
			n++
		}
		maxIn = max(maxIn, n)
	}
	if want := limit.Rate + limit.Burst + 1; maxIn > want {
		t.Errorf("%d calls within %v, want ≤ %d", maxIn, limit.Per, want)
	}
	interval := limit.Per / time.Duration(limit.Rate)
	if span, want := calls[m-1].Sub(calls[0]), time.Duration(m-limit.Burst-2)*interval*8/10; span < want {
		t.Errorf("%d calls took %v, want ≥ %v", m, span, want)
	}
}

func TestLimiterWaitRespectsContext(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	lim := NewLimiter(b.rdb)
	limit := Limit{Rate: 1, Per: time.Hour}
	if err := lim.Wait(context.Background(), "k", limit); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := lim.Wait(ctx, "k", limit); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait over the limit = %v, want context.DeadlineExceeded", err)
	}
	if err := lim.Wait(context.Background(), "k", Limit{}); err == nil {
		t.Error("Wait with a zero limit = nil error")
	}
}
