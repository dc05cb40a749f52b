package queue

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

//go:embed scripts/move.lua
var moveLua string

//go:embed scripts/retry.lua
var retryLua string

//go:embed scripts/once.lua
var onceLua string

var (
	moveScript  = redis.NewScript(moveLua)
	retryScript = redis.NewScript(retryLua)
	onceScript  = redis.NewScript(onceLua)
)

// Options configure a Queue. Every replica must use the same Name and
// Partitions; the zero value of any other field picks its default.
type Options struct {
	// Name names the queue in keys, e.g. a WeChat account's id.
	Name string
	// Partitions is the number of streams per lane (default 4). Each has
	// its own hash tag, so a Redis Cluster spreads them over its nodes.
	// Raising it is safe; lowering it strands the jobs of the partitions
	// dropped.
	Partitions int
	// VisibilityTimeout is how long a delivery may stay unacknowledged
	// before another worker takes it over (default 30s). Workers extend it
	// for jobs they are still running, so it bounds how long a crashed
	// replica's jobs wait, not how long a job may run.
	VisibilityTimeout time.Duration
	// MaxAttempts is how many runs of a job may fail before it becomes a
	// dead letter (default 8).
	MaxAttempts int
	// Backoff returns the delay before the run that follows the n-th
	// failure (n ≥ 1). The default is full jitter over 1s·2^(n-1), capped
	// at 10 minutes.
	Backoff func(n int) time.Duration
	// PollInterval is how often workers move due delayed jobs into the
	// streams and look for deliveries to take over (default 1s).
	PollInterval time.Duration
	// DrainTimeout is how long a stopping worker waits for running jobs
	// (default 10s). Jobs still running then are abandoned unacknowledged,
	// and another worker runs them after VisibilityTimeout.
	DrainTimeout time.Duration
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Registerer, when set, receives the queue's metrics.
	Registerer prometheus.Registerer
	// Now is the clock for delays and dead-letter times (default time.Now).
	Now func() time.Time
}

// Queue is a job queue on Redis streams, shared by every replica. It is safe
// for concurrent use.
type Queue struct {
	rdb     redis.UniversalClient
	opts    Options
	log     *slog.Logger
	metrics *metrics
	parts   []partition // priority partitions first, then bulk
}

var nameRE = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// DefaultBackoff is full jitter over 1s·2^(n-1), capped at 10 minutes.
func DefaultBackoff(n int) time.Duration {
	const limit = 10 * time.Minute
	d := limit
	if n >= 1 && n <= 10 {
		d = min(limit, time.Second<<(n-1))
	}
	return mrand.N(d) + time.Millisecond
}

// New returns the queue opts.Name over rdb.
func New(rdb redis.UniversalClient, opts Options) (*Queue, error) {
	if rdb == nil {
		return nil, errors.New("queue: nil redis client")
	}
	if !nameRE.MatchString(opts.Name) {
		return nil, fmt.Errorf("queue: invalid name %q (want 1-32 of a-z 0-9 _ -)", opts.Name)
	}
	if opts.Partitions < 0 || opts.VisibilityTimeout < 0 || opts.MaxAttempts < 0 || opts.PollInterval < 0 || opts.DrainTimeout < 0 {
		return nil, errors.New("queue: negative option")
	}
	if opts.Partitions == 0 {
		opts.Partitions = 4
	}
	if opts.VisibilityTimeout == 0 {
		opts.VisibilityTimeout = 30 * time.Second
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 8
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Second
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("queue: metrics: %w", err)
	}
	q := &Queue{rdb: rdb, opts: opts, log: log.With("component", "queue", "queue", opts.Name), metrics: m}
	for _, l := range lanes {
		for p := range opts.Partitions {
			q.parts = append(q.parts, partition{lane: l, p: p, tag: partitionTag(opts.Name, l, p)})
		}
	}
	return q, nil
}

func (q *Queue) partitionFor(j Job) partition {
	i := partitionOf(j.ID, q.opts.Partitions)
	if j.Lane == LaneBulk {
		i += q.opts.Partitions
	}
	return q.parts[i]
}

// Enqueue adds jobs to their lanes, in one pipelined round trip. A job
// enqueued twice runs twice; use EnqueueOnce where an enqueue may repeat.
func (q *Queue) Enqueue(ctx context.Context, jobs ...Job) error {
	for _, j := range jobs {
		if err := j.validate(); err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, j := range jobs {
			p.XAdd(ctx, &redis.XAddArgs{Stream: q.partitionFor(j).stream(), Values: []string{"job", encode(j)}})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enqueue %d jobs: %w", len(jobs), err)
	}
	return nil
}

// EnqueueOnce enqueues j unless a job with its ID was enqueued through
// EnqueueOnce within ttl, atomically: for enqueue paths that may run again
// after a crash. It reports whether j was enqueued.
func (q *Queue) EnqueueOnce(ctx context.Context, j Job, ttl time.Duration) (bool, error) {
	if err := j.validate(); err != nil {
		return false, fmt.Errorf("enqueue once: %w", err)
	}
	if ttl < time.Millisecond {
		return false, fmt.Errorf("enqueue once %s: ttl %v too short", j.ID, ttl)
	}
	pt := q.partitionFor(j)
	n, err := onceScript.Run(ctx, q.rdb, []string{pt.once(j.ID), pt.stream()}, ttl.Milliseconds(), encode(j)).Int()
	if err != nil {
		return false, fmt.Errorf("enqueue once %s: %w", j.ID, err)
	}
	return n == 1, nil
}

// EnqueueAt adds jobs that become ready at at. Jobs due now or earlier are
// enqueued at once.
func (q *Queue) EnqueueAt(ctx context.Context, at time.Time, jobs ...Job) error {
	if !at.After(q.opts.Now()) {
		return q.Enqueue(ctx, jobs...)
	}
	for _, j := range jobs {
		if err := j.validate(); err != nil {
			return fmt.Errorf("enqueue at: %w", err)
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, j := range jobs {
			p.ZAdd(ctx, q.partitionFor(j).delayed(), redis.Z{Score: float64(at.UnixMilli()), Member: delayedMember(j)})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enqueue %d jobs at %v: %w", len(jobs), at, err)
	}
	return nil
}

// delayedMember is a delayed-ZSET member: a nonce, so that the same job
// delayed twice stays twice (as with Enqueue), then the encoded job.
func delayedMember(j Job) string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:]) + encode(j)
}

// moveDue moves every due delayed job of pt into its stream.
func (q *Queue) moveDue(ctx context.Context, pt partition) (int, error) {
	const batch = 256
	total := 0
	for {
		n, err := moveScript.Run(ctx, q.rdb, []string{pt.delayed(), pt.stream()}, q.opts.Now().UnixMilli(), batch).Int()
		if err != nil {
			return total, fmt.Errorf("move due jobs of %s: %w", pt.tag, err)
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}

// Stats is a snapshot of a queue's backlog.
type Stats struct {
	Ready   map[Lane]int64 // in the streams, pending deliveries included
	Pending map[Lane]int64 // delivered, not yet acknowledged
	Delayed map[Lane]int64 // waiting for their due time or a retry
	Dead    int64
}

// Stats counts the queue's jobs, in one pipelined round trip.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	var ready, delayed []*redis.IntCmd
	var pending []*redis.XPendingCmd
	var dead *redis.IntCmd
	_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, pt := range q.parts {
			ready = append(ready, p.XLen(ctx, pt.stream()))
			delayed = append(delayed, p.ZCard(ctx, pt.delayed()))
			pending = append(pending, p.XPending(ctx, pt.stream(), group))
		}
		dead = p.XLen(ctx, deadKey(q.opts.Name))
		return nil
	})
	if err != nil && !isNoGroup(err) && !errors.Is(err, redis.Nil) {
		return Stats{}, fmt.Errorf("queue stats: %w", err)
	}
	s := Stats{Ready: map[Lane]int64{}, Pending: map[Lane]int64{}, Delayed: map[Lane]int64{}, Dead: dead.Val()}
	for i, pt := range q.parts {
		s.Ready[pt.lane] += ready[i].Val()
		s.Delayed[pt.lane] += delayed[i].Val()
		if pending[i].Err() == nil {
			s.Pending[pt.lane] += pending[i].Val().Count
		}
	}
	return s, nil
}

// Redis reports these conditions only by the error's prefix.
func isNoGroup(err error) bool   { return redis.HasErrorPrefix(err, "NOGROUP") }
func isBusyGroup(err error) bool { return redis.HasErrorPrefix(err, "BUSYGROUP") }

func msString(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
