package queue

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// bundle is what a queue test needs.
type bundle struct {
	rdb redis.UniversalClient
	q   *Queue
}

func setup(t testing.TB, opts Options) *bundle {
	t.Helper()
	rdb := redistest.Start(t)
	return setupOn(t, rdb, opts)
}

func setupOn(t testing.TB, rdb redis.UniversalClient, opts Options) *bundle {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "test"
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 10 * time.Millisecond
	}
	q, err := New(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{rdb: rdb, q: q}
}

// runWorker runs a worker until the test ends or the returned stop is called.
func runWorker(t testing.TB, q *Queue, consumer string, concurrency int, h Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx, consumer, concurrency, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run(%s) = %v", consumer, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recorder is a handler that records the jobs it ran, in order.
type recorder struct {
	mu   sync.Mutex
	jobs []Job
}

func (r *recorder) Handle(_ context.Context, j Job) error {
	r.mu.Lock()
	r.jobs = append(r.jobs, j)
	r.mu.Unlock()
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.jobs)
}

func (r *recorder) snapshot() []Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.jobs)
}

func jobs(prefix string, n int, lane Lane) []Job {
	out := make([]Job, n)
	for i := range out {
		out[i] = Job{ID: fmt.Sprintf("%s:%d", prefix, i), Kind: "send", Lane: lane, Payload: []byte(fmt.Sprint(i))}
	}
	return out
}

func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, j := range []Job{
		{ID: "a", Lane: LaneBulk},
		{ID: "camp42:s3:c17", Kind: "send", Lane: LanePriority, Payload: []byte("x:1:2:\x00\xff"), Attempt: 7},
		{ID: "1:2", Kind: "3:", Payload: []byte("")},
	} {
		got, err := decode(encode(j), j.Lane)
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", j, err)
		}
		if got.ID != j.ID || got.Kind != j.Kind || got.Lane != j.Lane || got.Attempt != j.Attempt || string(got.Payload) != string(j.Payload) {
			t.Errorf("decode(encode(%+v)) = %+v", j, got)
		}
	}
	for _, s := range []string{"", "1:2", "x:1:1:ab", "0:5:0:abc", "0:-1:0:"} {
		if _, err := decode(s, LaneBulk); err == nil {
			t.Errorf("decode(%q) = nil error, want one", s)
		}
	}
}

func TestAllJobsHandledPriorityFirst(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	b := setup(t, Options{Registerer: reg})
	ctx := context.Background()
	if err := b.q.Enqueue(ctx, jobs("bulk", 500, LaneBulk)...); err != nil {
		t.Fatal(err)
	}
	// Every handler waits at the gate until the priority jobs are queued
	// too, so the worker holds a few bulk jobs while they arrive.
	gate := make(chan struct{})
	rec := &recorder{}
	const concurrency = 4
	runWorker(t, b.q, "w1", concurrency, HandlerFunc(func(ctx context.Context, j Job) error {
		<-gate
		return rec.Handle(ctx, j)
	}))
	waitFor(t, 5*time.Second, "the worker to take bulk jobs", func() bool {
		s, err := b.q.Stats(ctx)
		return err == nil && s.Pending[LaneBulk] >= concurrency
	})
	if err := b.q.Enqueue(ctx, jobs("prio", 500, LanePriority)...); err != nil {
		t.Fatal(err)
	}
	close(gate)
	waitFor(t, 10*time.Second, "1000 jobs", func() bool { return rec.count() >= 1000 })
	waitFor(t, 5*time.Second, "every job acknowledged and deleted", func() bool {
		s, err := b.q.Stats(ctx)
		return err == nil && s.Ready[LaneBulk]+s.Ready[LanePriority] == 0 && s.Pending[LaneBulk]+s.Pending[LanePriority] == 0
	})

	got := rec.snapshot()
	seen := map[string]int{}
	lastPrio, bulkBefore := 0, 0
	for i, j := range got {
		seen[j.ID]++
		if j.Lane == LanePriority {
			lastPrio = i
		}
	}
	for _, j := range got[:lastPrio] {
		if j.Lane == LaneBulk {
			bulkBefore++
		}
	}
	if len(seen) != 1000 || len(got) != 1000 {
		t.Errorf("handled %d runs of %d distinct jobs, want 1000 of 1000", len(got), len(seen))
	}
	// At most the bulk jobs held when the priority ones arrived: one per
	// goroutine, plus up to Partitions-1 read beyond them.
	if want := concurrency + b.q.opts.Partitions - 1; bulkBefore > want {
		t.Errorf("%d bulk jobs ran before the last priority job, want ≤ %d", bulkBefore, want)
	}
	if got := doneByLane(t, reg); got["bulk"] != 500 || got["priority"] != 500 {
		t.Errorf("kepubot_queue_jobs_total{outcome=done} by lane = %v, want 500 each", got)
	}
	if j := got[0]; string(j.Payload) == "" || j.Kind != "send" {
		t.Errorf("first job %+v lost its kind or payload", j)
	}
}

// doneByLane reads kepubot_queue_jobs_total{outcome="done"} by lane.
func doneByLane(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "kepubot_queue_jobs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["outcome"] == outcomeDone {
				out[labels["lane"]] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}
