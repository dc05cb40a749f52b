package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"
)

// Options configure a Scheduler. Every replica must declare the same jobs;
// the zero value of any field picks its default.
type Options struct {
	// Loc is the district's time zone, in which specs are read (default UTC).
	Loc *time.Location
	// Now is the clock (default time.Now). Step takes the time explicitly;
	// Run and the status API read Now.
	Now func() time.Time
	// Owner names this replica in leases and statuses (default
	// hostname-pid-random).
	Owner string
	// LeaseTTL is how long a tick's lease lasts without renewal (default
	// 1 minute). A running job renews it every LeaseTTL/3, so it bounds how
	// long a crashed replica's tick stays blocked, not how long a job runs.
	LeaseTTL time.Duration
	// Tolerance is how late a tick may be noticed and still count as on
	// time (default 30s): later ticks are missed ones, handled by policy.
	Tolerance time.Duration
	// Interval is how often Run steps (default 1s).
	Interval time.Duration
	// Programmes, when set, adds every stored recurring programme as a job;
	// Step reloads them when their version moves.
	Programmes *Programmes
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// Scheduler fires cron jobs across replicas: every replica steps the same
// schedule, and a Redis lease per (job, tick) lets exactly one of them run
// each tick. It is safe for concurrent use.
type Scheduler struct {
	rdb  redis.UniversalClient
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	static  []entry // declared jobs (Add)
	version int64   // programme version loaded
	progs   []entry // programme jobs

	wg sync.WaitGroup // runs started by Run

	startMu sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
}

type entry struct {
	job   Job
	sched cron.Schedule
}

// Outcomes of a tick, as Result and the status hash report them.
const (
	OutcomeOK      = "ok"
	OutcomeError   = "error"
	OutcomeSkipped = "skipped" // missed, and the policy did not fire it
)

// Result is one tick a Step handled on this replica.
type Result struct {
	Tick     Tick
	Outcome  string
	Err      error
	Duration time.Duration
}

// ErrLeaseLost is the cause of a run's context ending because its lease
// was taken over (the replica stalled past LeaseTTL).
var ErrLeaseLost = errors.New("lease lost")

// New returns a scheduler of jobs over rdb.
func New(rdb redis.UniversalClient, jobs []Job, opts Options) (*Scheduler, error) {
	if rdb == nil {
		return nil, errors.New("scheduler: nil redis client")
	}
	if opts.LeaseTTL < 0 || opts.Tolerance < 0 || opts.Interval < 0 {
		return nil, errors.New("scheduler: negative option")
	}
	if opts.Loc == nil {
		opts.Loc = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		opts.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if opts.LeaseTTL == 0 {
		opts.LeaseTTL = time.Minute
	}
	if opts.Tolerance == 0 {
		opts.Tolerance = 30 * time.Second
	}
	if opts.Interval == 0 {
		opts.Interval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{rdb: rdb, opts: opts, log: opts.Logger.With("component", "scheduler", "owner", opts.Owner), version: -1}
	if err := s.Add(jobs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Add declares more jobs (an account added while running); their ticks
// fire from the next Step. A name already declared is an error.
func (s *Scheduler) Add(jobs ...Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, e := range s.static {
		seen[e.job.Name] = true
	}
	var add []entry
	for _, j := range jobs {
		if err := j.validate(); err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
		if seen[j.Name] {
			return fmt.Errorf("scheduler: job %s declared twice", j.Name)
		}
		seen[j.Name] = true
		sched, err := ParseSpec(j.Spec, s.opts.Loc)
		if err != nil {
			return fmt.Errorf("scheduler: job %s: %w", j.Name, err)
		}
		add = append(add, entry{job: j, sched: sched})
	}
	s.static = append(s.static, add...)
	return nil
}

// entries returns the configured jobs and the current programmes,
// reloading the programmes when their version moved.
func (s *Scheduler) entries(ctx context.Context) ([]entry, error) {
	s.mu.Lock()
	out := append([]entry(nil), s.static...)
	s.mu.Unlock()
	if s.opts.Programmes == nil {
		return out, nil
	}
	v, err := s.rdb.Get(ctx, versionKey).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("programme version: %w", err)
	}
	s.mu.Lock()
	stale := v != s.version
	s.mu.Unlock()
	if stale {
		progs, err := s.opts.Programmes.jobs(ctx)
		if err != nil {
			return nil, err
		}
		var es []entry
		for _, j := range progs {
			sched, err := ParseSpec(j.Spec, s.opts.Loc)
			if err != nil {
				s.log.Warn("programme ignored", "job", j.Name, "err", err)
				continue
			}
			es = append(es, entry{job: j, sched: sched})
		}
		s.mu.Lock()
		s.version, s.progs = v, es
		s.mu.Unlock()
	}
	s.mu.Lock()
	out = append(out, s.progs...)
	s.mu.Unlock()
	return out, nil
}

func (s *Scheduler) find(ctx context.Context, name string) (entry, error) {
	es, err := s.entries(ctx)
	if err != nil {
		return entry{}, err
	}
	for _, e := range es {
		if e.job.Name == name {
			return e, nil
		}
	}
	return entry{}, fmt.Errorf("job %q: %w", name, ErrUnknownJob)
}

// latestDue returns the latest tick of sched in (after, now], or the zero
// time when there is none. It walks the schedule, at most a year of
// per-minute ticks; older ticks than that are never due (no policy fires
// them).
func latestDue(sched cron.Schedule, after, now time.Time) time.Time {
	if floor := now.AddDate(-1, 0, 0); after.Before(floor) {
		after = floor
	}
	var latest time.Time
	for t := sched.Next(after); !t.IsZero() && !t.After(now); t = sched.Next(t) {
		latest = t
	}
	return latest
}

// Step handles everything due at now on this replica: for each job the
// latest tick in (last tick handled, now], fired or skipped by its policy,
// and any pending manual run. It runs what it fires and returns when those
// runs end, with what this replica did (ticks other replicas took are not
// in it). Run calls it every Interval; tests call it with simulated times.
func (s *Scheduler) Step(ctx context.Context, now time.Time) ([]Result, error) {
	return s.step(ctx, now, true)
}

func (s *Scheduler) step(ctx context.Context, now time.Time, wait bool) ([]Result, error) {
	es, err := s.entries(ctx)
	if err != nil {
		return nil, fmt.Errorf("step: %w", err)
	}
	lasts := make([]*redis.StringCmd, len(es))
	var paused *redis.StringSliceCmd
	var manual *redis.MapStringStringCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range es {
			lasts[i] = p.Get(ctx, lastKey(e.job.Name))
		}
		paused = p.SMembers(ctx, pausedKey)
		manual = p.HGetAll(ctx, manualKey)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("step: %w", err)
	}
	isPaused := map[string]bool{}
	for _, n := range paused.Val() {
		isPaused[n] = true
	}
	var (
		mu      sync.Mutex
		results []Result
		wg      sync.WaitGroup
	)
	add := func(r Result) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}
	byName := map[string]entry{}
	for i, e := range es {
		byName[e.job.Name] = e
		last, err := s.lastTick(ctx, e.job.Name, lasts[i], now)
		if err != nil {
			return results, err
		}
		latest := latestDue(e.sched, last, now)
		if latest.IsZero() {
			continue
		}
		late := now.Sub(latest)
		fire := late <= s.opts.Tolerance ||
			(e.job.Policy == PolicyCatchUpLast && late <= max(e.job.Grace, s.opts.Tolerance))
		tick := Tick{Job: e.job.Name, ID: tickID(e.job.Name, latest.In(s.opts.Loc), false), At: latest.In(s.opts.Loc)}
		if !fire || isPaused[e.job.Name] {
			moved, err := advanceScript.Run(ctx, s.rdb, []string{lastKey(e.job.Name), statusKey(e.job.Name)}, latest.Unix()).Int()
			if err != nil {
				return results, fmt.Errorf("skip %s: %w", tick.ID, err)
			}
			if moved == 1 {
				s.log.Info("tick skipped", "job", e.job.Name, "tick", tick.ID, "late", late, "paused", isPaused[e.job.Name])
				add(Result{Tick: tick, Outcome: OutcomeSkipped})
			}
			continue
		}
		s.launch(ctx, e, tick, now, wait, &wg, add)
	}
	for name, v := range manual.Val() {
		e, ok := byName[name]
		unix, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			continue // a programme deleted since; RunNow checks names
		}
		at := time.Unix(unix, 0).In(s.opts.Loc)
		s.launch(ctx, e, Tick{Job: name, ID: tickID(name, at, true), At: at, Manual: true}, now, wait, &wg, add)
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].Tick.Key() < results[j].Tick.Key() })
	return results, nil
}

// lastTick returns the last tick handled of a job. A job never seen
// starts from now: a new deployment owes nothing from before it existed.
func (s *Scheduler) lastTick(ctx context.Context, job string, cmd *redis.StringCmd, now time.Time) (time.Time, error) {
	v, err := cmd.Int64()
	if err == nil {
		return time.Unix(v, 0), nil
	}
	if !errors.Is(err, redis.Nil) {
		return time.Time{}, fmt.Errorf("last tick of %s: %w", job, err)
	}
	init := now.Add(-time.Second).Unix()
	ok, err := s.rdb.SetNX(ctx, lastKey(job), init, 0).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("last tick of %s: %w", job, err)
	}
	if !ok {
		if init, err = s.rdb.Get(ctx, lastKey(job)).Int64(); err != nil {
			return time.Time{}, fmt.Errorf("last tick of %s: %w", job, err)
		}
	}
	return time.Unix(init, 0), nil
}

// launch takes the tick's lease and, when this replica got it, runs the
// job: inline (wait, for Step) or in the background (for Run).
func (s *Scheduler) launch(ctx context.Context, e entry, tick Tick, now time.Time, wait bool, wg *sync.WaitGroup, add func(Result)) {
	manual := "0"
	if tick.Manual {
		manual = "1"
	}
	lease := leaseKey(e.job.Name, tick.At.Unix(), tick.Manual)
	token, err := acquireScript.Run(ctx, s.rdb, []string{lastKey(e.job.Name), lease, fenceKey(e.job.Name), manualKey},
		tick.At.Unix(), s.opts.Owner, s.opts.LeaseTTL.Milliseconds(), manual, e.job.Name).Int64()
	if err != nil {
		s.log.Warn("lease not taken", "job", e.job.Name, "tick", tick.ID, "err", err)
		return
	}
	if token == 0 {
		return // another replica has it, or it was handled
	}
	tick.Token = token
	run := func() { add(s.run(ctx, e, tick, lease)) }
	if wait {
		wg.Go(run)
		return
	}
	// In the background (Run) nobody collects results: step has returned
	// and reads them no more.
	s.wg.Go(func() { s.run(ctx, e, tick, lease) })
}

// run runs one tick under its lease and records the outcome, fenced by
// the lease's token.
func (s *Scheduler) run(ctx context.Context, e entry, tick Tick, lease string) Result {
	holder := s.opts.Owner + ":" + strconv.FormatInt(tick.Token, 10)
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopRenew := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(s.opts.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stopRenew:
				return
			case <-rctx.Done():
				return
			case <-t.C:
				ok, err := renewScript.Run(rctx, s.rdb, []string{lease}, holder, s.opts.LeaseTTL.Milliseconds()).Int()
				if err == nil && ok == 0 {
					s.log.Warn("lease lost: stopping the run", "job", tick.Job, "tick", tick.ID, "token", tick.Token)
					cancel(ErrLeaseLost)
					return
				}
			}
		}
	}()
	startedAt := s.opts.Now()
	start := time.Now()
	s.log.Info("tick started", "job", tick.Job, "tick", tick.ID, "token", tick.Token)
	err := safeRun(rctx, e.job.Run, tick)
	d := time.Since(start)
	close(stopRenew)
	<-renewed

	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer wcancel()
	if err != nil && ctx.Err() != nil {
		// Shutting down: leave the tick to another replica while it is due.
		releaseScript.Run(wctx, s.rdb, []string{lease}, holder)
		s.log.Info("tick abandoned at shutdown", "job", tick.Job, "tick", tick.ID)
		return Result{Tick: tick, Outcome: OutcomeError, Err: err, Duration: d}
	}
	outcome, msg := OutcomeOK, ""
	if err != nil {
		outcome, msg = OutcomeError, err.Error()
		s.log.Error("tick failed", "job", tick.Job, "tick", tick.ID, "duration", d, "err", err)
	} else {
		s.log.Info("tick done", "job", tick.Job, "tick", tick.ID, "duration", d)
	}
	manual := "0"
	if tick.Manual {
		manual = "1"
	}
	next := e.sched.Next(s.opts.Now()).In(s.opts.Loc)
	wrote, werr := completeScript.Run(wctx, s.rdb, []string{lastKey(tick.Job), lease, statusKey(tick.Job), manualKey},
		tick.At.Unix(), holder, tick.Token, manual, tick.Job,
		"last_tick", tick.ID, "last_run", startedAt.In(s.opts.Loc).Format(time.RFC3339),
		"last_outcome", outcome, "duration_ms", d.Milliseconds(), "error", msg,
		"next_run", next.Format(time.RFC3339), "owner", s.opts.Owner).Int()
	if werr != nil {
		s.log.Error("tick outcome not recorded", "job", tick.Job, "tick", tick.ID, "err", werr)
	} else if wrote == 0 {
		s.log.Warn("stale run: a newer lease holder recorded the status", "job", tick.Job, "tick", tick.ID, "token", tick.Token)
	}
	return Result{Tick: tick, Outcome: outcome, Err: err, Duration: d}
}

func safeRun(ctx context.Context, fn func(context.Context, Tick) error, tick Tick) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("job %s panicked: %v", tick.Job, r)
		}
	}()
	if err := fn(ctx, tick); err != nil {
		return fmt.Errorf("%s: %w", tick.ID, err)
	}
	return nil
}

// Run steps every Interval on the real clock until ctx ends, then waits
// for the runs it started. Runs do not block the loop: a long tag sync on
// this replica does not delay another job's tick.
func (s *Scheduler) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	defer s.wg.Wait()
	for {
		if _, err := s.step(ctx, s.opts.Now(), false); err != nil && ctx.Err() == nil {
			s.log.Warn("scheduler step failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Start runs the scheduler in the background until Stop.
func (s *Scheduler) Start(ctx context.Context) error {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.cancel != nil {
		return errors.New("scheduler already started")
	}
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.Run(ctx)
	}()
	return nil
}

// Stop stops stepping, cancels the runs in flight (their ticks stay due
// for another replica) and waits for them. It is safe to call twice and
// before Start.
func (s *Scheduler) Stop() {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel = nil
}
