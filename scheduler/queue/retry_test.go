package queue

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// delayedScores returns the due times of every delayed job.
func delayedScores(t *testing.T, b *bundle) []time.Time {
	t.Helper()
	var out []time.Time
	for _, pt := range b.q.parts {
		zs, err := b.rdb.ZRangeWithScores(context.Background(), pt.delayed(), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, z := range zs {
			out = append(out, time.UnixMilli(int64(z.Score)).UTC())
		}
	}
	return out
}

func TestRetryWithIncreasingBackoff(t *testing.T) {
	t.Parallel()
	clk := newClock()
	var mu sync.Mutex
	var backoffs []int
	b := setup(t, Options{Now: clk.Now, Backoff: func(n int) time.Duration {
		mu.Lock()
		backoffs = append(backoffs, n)
		mu.Unlock()
		return time.Duration(n) * time.Hour
	}})
	ctx := context.Background()
	var attempts []int
	var calls atomic.Int32
	runWorker(t, b.q, "w", 2, HandlerFunc(func(_ context.Context, j Job) error {
		mu.Lock()
		attempts = append(attempts, j.Attempt)
		mu.Unlock()
		calls.Add(1)
		if j.Attempt < 3 {
			return errors.New("wechat -1: system busy")
		}
		return nil
	}))
	if err := b.q.Enqueue(ctx, Job{ID: "flaky", Kind: "send"}); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		waitFor(t, 5*time.Second, "a failed run to be rescheduled", func() bool {
			s, err := b.q.Stats(ctx)
			return err == nil && calls.Load() == int32(n) && s.Delayed[LaneBulk] == 1
		})
		due := delayedScores(t, b)
		if want := clk.Now().Add(time.Duration(n) * time.Hour); len(due) != 1 || !due[0].Equal(want) {
			t.Fatalf("after failure %d the retry is due at %v, want %v", n, due, want)
		}
		// Not due yet: moving changes nothing.
		for _, pt := range b.q.parts {
			if moved, err := b.q.moveDue(ctx, pt); err != nil || moved != 0 {
				t.Fatalf("moveDue before the due time = %d, %v; want 0, nil", moved, err)
			}
		}
		clk.Advance(time.Duration(n) * time.Hour)
	}
	waitFor(t, 5*time.Second, "the fourth run", func() bool { return calls.Load() == 4 })
	waitFor(t, 5*time.Second, "the queue to empty", func() bool {
		s, err := b.q.Stats(ctx)
		return err == nil && s.Ready[LaneBulk] == 0 && s.Pending[LaneBulk] == 0 && s.Delayed[LaneBulk] == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if want := []int{0, 1, 2, 3}; !equalInts(attempts, want) {
		t.Errorf("attempts = %v, want %v", attempts, want)
	}
	if want := []int{1, 2, 3}; !equalInts(backoffs, want) {
		t.Errorf("Backoff called with %v, want %v", backoffs, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRetryAfterExplicitDelayThenDeadAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := setup(t, Options{Now: clk.Now, MaxAttempts: 2})
	ctx := context.Background()
	var calls atomic.Int32
	runWorker(t, b.q, "w", 1, HandlerFunc(func(context.Context, Job) error {
		calls.Add(1)
		return Retry(errors.New("wechat 45009: frequency limit"), 90*time.Second)
	}))
	if err := b.q.Enqueue(ctx, Job{ID: "limited", Lane: LanePriority}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the retry to be scheduled", func() bool { return len(delayedScores(t, b)) == 1 })
	if due := delayedScores(t, b); !due[0].Equal(clk.Now().Add(90 * time.Second)) {
		t.Errorf("retry due at %v, want 90s after %v", due[0], clk.Now())
	}
	clk.Advance(90 * time.Second)
	var dead []DeadLetter
	waitFor(t, 5*time.Second, "a dead letter", func() bool {
		var err error
		dead, err = b.q.DeadLetters(ctx, 10)
		return err == nil && len(dead) == 1
	})
	if calls.Load() != 2 {
		t.Errorf("handler ran %d times, want MaxAttempts = 2", calls.Load())
	}
	d := dead[0]
	if d.Job.ID != "limited" || d.Job.Lane != LanePriority || d.Job.Attempt != 1 || !strings.Contains(d.Reason, "45009") || !d.At.Equal(clk.Now()) {
		t.Errorf("dead letter = %+v, want job limited, priority, attempt 1, reason with 45009, at %v", d, clk.Now())
	}
}

func TestPermanentErrorDeadLetterAndRetryDead(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ctx := context.Background()
	var fixed atomic.Bool
	rec := &recorder{}
	runWorker(t, b.q, "w", 2, HandlerFunc(func(ctx context.Context, j Job) error {
		if !fixed.Load() {
			return Permanent(errors.New("wechat 43004: unsubscribed"))
		}
		return rec.Handle(ctx, j)
	}))
	if err := b.q.Enqueue(ctx, Job{ID: "camp1:s0:c9", Kind: "send", Payload: []byte("p")}); err != nil {
		t.Fatal(err)
	}
	var dead []DeadLetter
	waitFor(t, 5*time.Second, "a dead letter", func() bool {
		var err error
		dead, err = b.q.DeadLetters(ctx, 10)
		return err == nil && len(dead) == 1
	})
	d := dead[0]
	if d.Job.ID != "camp1:s0:c9" || d.Job.Kind != "send" || string(d.Job.Payload) != "p" || d.Reason != "wechat 43004: unsubscribed" {
		t.Errorf("dead letter = %+v, want the job with reason %q", d, "wechat 43004: unsubscribed")
	}
	// The dead letter is written before the delivery is acknowledged.
	waitFor(t, 5*time.Second, "nothing left pending or delayed", func() bool {
		s, err := b.q.Stats(ctx)
		return err == nil && s.Ready[LaneBulk] == 0 && s.Pending[LaneBulk] == 0 && s.Delayed[LaneBulk] == 0 && s.Dead == 1
	})

	fixed.Store(true)
	if err := b.q.RetryDead(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the retried job", func() bool { return rec.count() == 1 })
	if got := rec.snapshot()[0]; got.ID != d.Job.ID || got.Attempt != 0 {
		t.Errorf("retried job = %+v, want %s at attempt 0", got, d.Job.ID)
	}
	if dead, err := b.q.DeadLetters(ctx, 10); err != nil || len(dead) != 0 {
		t.Errorf("DeadLetters after RetryDead = %v, %v; want none", dead, err)
	}
	if err := b.q.RetryDead(ctx, d.ID); !errors.Is(err, ErrNoDeadLetter) {
		t.Errorf("RetryDead twice = %v, want ErrNoDeadLetter", err)
	}

	fixed.Store(false)
	if err := b.q.Enqueue(ctx, jobs("more", 3, LaneBulk)...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "three dead letters", func() bool {
		dead, err := b.q.DeadLetters(ctx, 10)
		return err == nil && len(dead) == 3
	})
	if n, err := b.q.PurgeDead(ctx); err != nil || n != 3 {
		t.Errorf("PurgeDead = %d, %v; want 3, nil", n, err)
	}
}

func TestPanicIsRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Backoff: func(int) time.Duration { return time.Millisecond }})
	var calls atomic.Int32
	runWorker(t, b.q, "w", 1, HandlerFunc(func(context.Context, Job) error {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		return nil
	}))
	if err := b.q.Enqueue(context.Background(), Job{ID: "p"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the run after the panic", func() bool { return calls.Load() == 2 })
}

func TestEnqueueAtAndOnce(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := setup(t, Options{Now: clk.Now})
	ctx := context.Background()
	rec := &recorder{}
	runWorker(t, b.q, "w", 2, rec)

	if err := b.q.EnqueueAt(ctx, clk.Now().Add(time.Hour), Job{ID: "later"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"once", "once"} {
		if _, err := b.q.EnqueueOnce(ctx, Job{ID: id, Lane: LanePriority}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := b.q.EnqueueOnce(ctx, Job{ID: "once", Lane: LanePriority}, time.Hour); err != nil || ok {
		t.Errorf("EnqueueOnce(repeat) = %v, %v; want false, nil", ok, err)
	}
	waitFor(t, 5*time.Second, "the once job", func() bool { return rec.count() == 1 })
	for _, pt := range b.q.parts {
		if moved, err := b.q.moveDue(ctx, pt); err != nil || moved != 0 {
			t.Fatalf("moveDue an hour early = %d, %v; want 0, nil", moved, err)
		}
	}
	clk.Advance(time.Hour)
	waitFor(t, 5*time.Second, "the delayed job", func() bool { return rec.count() == 2 })
	if got := rec.snapshot(); got[0].ID != "once" || got[1].ID != "later" {
		t.Errorf("ran %v, want once then later", got)
	}
}

// A handler that decides at 08:00 to wait until 10:00 while the clock
// jumps to 10:00 under it: with At the job is due at 10:00 (runs now),
// not two hours after the jump as Later's duration would make it; the
// wait counts no attempt.
func TestAtIsAbsoluteWhenTheClockJumps(t *testing.T) {
	t.Parallel()
	clk := newClock()
	clk.Advance(-time.Hour) // 08:00
	b := setup(t, Options{Now: clk.Now, MaxAttempts: 1})
	ctx := context.Background()
	at := clk.Now().Add(2 * time.Hour)
	var calls atomic.Int32
	var attempts []int
	var mu sync.Mutex
	runWorker(t, b.q, "w", 1, HandlerFunc(func(_ context.Context, j Job) error {
		mu.Lock()
		attempts = append(attempts, j.Attempt)
		mu.Unlock()
		if calls.Add(1) == 1 {
			clk.Advance(2 * time.Hour) // the clock moves on while it decides
			return At(errors.New("waiting for 10:00"), at)
		}
		return nil
	}))
	if err := b.q.Enqueue(ctx, Job{ID: "wait", Kind: "send"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the run at 10:00", func() bool { return calls.Load() == 2 })
	mu.Lock()
	defer mu.Unlock()
	if want := []int{0, 0}; !equalInts(attempts, want) {
		t.Errorf("attempts = %v, want %v (a wait is no failure)", attempts, want)
	}
	if e := At(errors.New("x"), at).Error(); !strings.Contains(e, "retry at") {
		t.Errorf("At(...).Error() = %q, want it to say when", e)
	}
}
