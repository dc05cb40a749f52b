package queue

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// effects counts each job's effect, the way the fake WeChat API records
// each message it received.
type effects struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *effects) add(id string) {
	e.mu.Lock()
	if e.n == nil {
		e.n = map[string]int{}
	}
	e.n[id]++
	e.mu.Unlock()
}

func (e *effects) snapshot() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.n))
	for k, v := range e.n {
		out[k] = v
	}
	return out
}

// onceHandler performs a job's effect only if its mark was not set yet.
func onceHandler(marks *Marks, eff *effects) HandlerFunc {
	return func(ctx context.Context, j Job) error {
		bit, err := strconv.ParseInt(string(j.Payload), 10, 64)
		if err != nil {
			return Permanent(err)
		}
		first, err := marks.MarkOnce(ctx, "crash", bit)
		if err != nil {
			return err
		}
		if first {
			eff.add(j.ID)
		}
		return nil
	}
}

func TestCrashedWorkerJobsTakenOverExactlyOnceEffect(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{VisibilityTimeout: 300 * time.Millisecond, DrainTimeout: 20 * time.Millisecond})
	ctx := context.Background()
	marks := NewMarks(b.rdb)
	eff := &effects{}
	const total, every = 200, 10 // every 10th job hangs in the first worker

	if err := b.q.Enqueue(ctx, jobs("job", total, LaneBulk)...); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var stuck, woke atomic.Int32
	normal := onceHandler(marks, eff)
	// The first worker hangs, ignoring its context, on every 10th job: a
	// process frozen mid-send. Stop then abandons those jobs unacknowledged.
	stopA := runWorker(t, b.q, "a", 32, HandlerFunc(func(ctx context.Context, j Job) error {
		if n, _ := strconv.Atoi(string(j.Payload)); n%every == 0 {
			stuck.Add(1)
			<-release
			defer woke.Add(1)
			return normal(context.WithoutCancel(ctx), j)
		}
		return normal(ctx, j)
	}))
	waitFor(t, 5*time.Second, "worker a to hang on its jobs", func() bool { return stuck.Load() == total/every })
	stopA()

	s, err := b.q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The frozen jobs stay pending (with, at times, a few read but not yet
	// started when the worker stopped).
	if s.Pending[LaneBulk] < total/every {
		t.Fatalf("after the crash %d deliveries are pending, want ≥ %d", s.Pending[LaneBulk], total/every)
	}

	runWorker(t, b.q, "b", 4, normal)
	waitFor(t, 10*time.Second, "worker b to take over every job", func() bool {
		n, err := marks.CountMarked(ctx, "crash")
		return err == nil && n == total
	})
	waitFor(t, 5*time.Second, "the queue to empty", func() bool {
		s, err := b.q.Stats(ctx)
		return err == nil && s.Ready[LaneBulk] == 0 && s.Pending[LaneBulk] == 0
	})
	// The frozen handlers wake up late and try their sends again: the marks
	// stop them, and their (abandoned) deliveries are not acknowledged.
	close(release)
	waitFor(t, 5*time.Second, "the frozen handlers to return", func() bool { return woke.Load() == total/every })

	got := eff.snapshot()
	if len(got) != total {
		t.Errorf("%d jobs had an effect, want %d", len(got), total)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("job %s had its effect %d times, want 1", id, n)
		}
	}
}

// restartOn starts a second redis-server listening on addr (after the first
// one there was killed), stopped when t ends.
func restartOn(t *testing.T, addr string) {
	t.Helper()
	bin, err := redistest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "kbr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
		"--loglevel", "warning", "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	waitFor(t, 10*time.Second, "the restarted redis-server", func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
}

func TestWorkersSurviveRedisRestart(t *testing.T) {
	t.Parallel()
	redistest.SkipOnCluster(t, "it SIGKILLs and restarts one redis-server")
	srv := redistest.StartServer(t, redistest.Options{TCP: true})
	b := setupOn(t, srv.Client(t), Options{})
	ctx := context.Background()
	rec := &recorder{}
	stop := runWorker(t, b.q, "w", 4, rec)
	runWorker(t, b.q, "w2", 4, rec)

	if err := b.q.Enqueue(ctx, jobs("before", 50, LaneBulk)...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "jobs before the restart", func() bool { return rec.count() >= 50 })

	srv.Kill()
	restartOn(t, srv.Addr)
	// The restarted server is empty (no persistence): streams and groups
	// are gone, and the workers must recreate them.
	waitFor(t, 10*time.Second, "an enqueue after the restart", func() bool {
		err := b.q.Enqueue(ctx, jobs("after", 50, LanePriority)...)
		return err == nil
	})
	waitFor(t, 10*time.Second, "jobs after the restart", func() bool {
		n := 0
		for _, j := range rec.snapshot() {
			if strings.HasPrefix(j.ID, "after:") {
				n++
			}
		}
		return n >= 50
	})
	stop() // Run returns nil after the outage
}

func TestStopIsSafe(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	w, err := b.q.NewWorker("w", 2, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	w.Stop() // before Start
	if err := w.Start(context.Background()); err == nil {
		t.Error("Start after Stop = nil, want an error")
	}

	w, _ = b.q.NewWorker("w", 2, &recorder{})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err == nil {
		t.Error("second Start = nil, want an error")
	}
	w.Stop()
	w.Stop()

	if _, err := b.q.NewWorker("", 1, &recorder{}); err == nil {
		t.Error("NewWorker without consumer = nil error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.q.Run(ctx, "x", 0, &recorder{}); err == nil {
		t.Error("Run with concurrency 0 = nil error")
	}
	if err := b.q.Enqueue(context.Background(), Job{}); err == nil {
		t.Error("Enqueue(job without id) = nil error")
	}
	if _, err := New(b.rdb, Options{Name: "Bad Name"}); err == nil {
		t.Error("New with a bad name = nil error")
	}
}
