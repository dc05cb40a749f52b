package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Status is what the admin API shows of a job (contract: name, spec,
// next_run, last_run, last_outcome, paused).
type Status struct {
	Name string `json:"name"`
	// Account is the WeChat account the job works for (Job.Account).
	Account     string     `json:"account,omitempty"`
	Spec        string     `json:"spec"`
	Policy      Policy     `json:"policy"`
	NextRun     *time.Time `json:"next_run"`
	LastRun     *time.Time `json:"last_run"`
	LastOutcome string     `json:"last_outcome"` // ok, error, or "" when it never ran
	LastTick    string     `json:"last_tick,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	DurationMS  int64      `json:"duration_ms"`
	Paused      bool       `json:"paused"`
	// Skipped counts ticks missed and not fired (policy or pause).
	Skipped int64 `json:"skipped"`
	// RunPending is set while a RunNow waits for a replica to take it.
	RunPending bool `json:"run_pending"`
}

// Statuses returns every job's status, configured jobs first, then
// programmes, each in declaration or name order.
func (s *Scheduler) Statuses(ctx context.Context) ([]Status, error) {
	es, err := s.entries(ctx)
	if err != nil {
		return nil, err
	}
	return s.statuses(ctx, es)
}

// StatusesOf returns the statuses of account's jobs (its programmes
// included), in the order of Statuses.
func (s *Scheduler) StatusesOf(ctx context.Context, account string) ([]Status, error) {
	es, err := s.entries(ctx)
	if err != nil {
		return nil, err
	}
	es = slices.DeleteFunc(es, func(e entry) bool { return e.job.Account != account })
	return s.statuses(ctx, es)
}

// Lookup returns the name of account's job called name: its full name
// (daily-tip:agri) or the base AccountJob made it from (daily-tip). A job
// of another account is ErrUnknownJob, as is one of nobody.
func (s *Scheduler) Lookup(ctx context.Context, account, name string) (string, error) {
	es, err := s.entries(ctx)
	if err != nil {
		return "", err
	}
	for _, e := range es {
		if e.job.Account == account && (e.job.Name == name || e.job.Name == AccountJob(name, account)) {
			return e.job.Name, nil
		}
	}
	return "", fmt.Errorf("job %q: %w", name, ErrUnknownJob)
}

func (s *Scheduler) statuses(ctx context.Context, es []entry) ([]Status, error) {
	hs := make([]*redis.MapStringStringCmd, len(es))
	var paused *redis.StringSliceCmd
	var manual *redis.MapStringStringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range es {
			hs[i] = p.HGetAll(ctx, statusKey(e.job.Name))
		}
		paused = p.SMembers(ctx, pausedKey)
		manual = p.HGetAll(ctx, manualKey)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("job statuses: %w", err)
	}
	isPaused := map[string]bool{}
	for _, n := range paused.Val() {
		isPaused[n] = true
	}
	now := s.opts.Now()
	out := make([]Status, 0, len(es))
	for i, e := range es {
		h := hs[i].Val()
		st := Status{Name: e.job.Name, Account: e.job.Account, Spec: e.job.Spec, Policy: e.job.Policy, Paused: isPaused[e.job.Name],
			LastOutcome: h["last_outcome"], LastTick: h["last_tick"], LastError: h["error"]}
		st.RunPending = manual.Val()[e.job.Name] != ""
		if next := e.sched.Next(now); !next.IsZero() {
			next = next.In(s.opts.Loc)
			st.NextRun = &next
		}
		if t, err := time.Parse(time.RFC3339, h["last_run"]); err == nil {
			t = t.In(s.opts.Loc)
			st.LastRun = &t
		}
		st.DurationMS, _ = strconv.ParseInt(h["duration_ms"], 10, 64)
		st.Skipped, _ = strconv.ParseInt(h["skipped"], 10, 64)
		out = append(out, st)
	}
	return out, nil
}

// Status returns one job's status, or ErrUnknownJob.
func (s *Scheduler) Status(ctx context.Context, name string) (Status, error) {
	all, err := s.Statuses(ctx)
	if err != nil {
		return Status{}, err
	}
	for _, st := range all {
		if st.Name == name {
			return st, nil
		}
	}
	return Status{}, fmt.Errorf("job %q: %w", name, ErrUnknownJob)
}

// Pause stops every replica from firing the job's ticks (they are skipped)
// until Resume. A manual run still runs.
func (s *Scheduler) Pause(ctx context.Context, name string) error {
	if _, err := s.find(ctx, name); err != nil {
		return err
	}
	if err := s.rdb.SAdd(ctx, pausedKey, name).Err(); err != nil {
		return fmt.Errorf("pause %s: %w", name, err)
	}
	return nil
}

// Resume undoes Pause: the job fires from its next tick.
func (s *Scheduler) Resume(ctx context.Context, name string) error {
	if _, err := s.find(ctx, name); err != nil {
		return err
	}
	if err := s.rdb.SRem(ctx, pausedKey, name).Err(); err != nil {
		return fmt.Errorf("resume %s: %w", name, err)
	}
	return nil
}

// RunNow asks for one run of the job as soon as a replica steps, with the
// tick id "manual@<now>". While a request is pending, asking again returns
// the pending tick instead of queueing a second run.
func (s *Scheduler) RunNow(ctx context.Context, name string) (Tick, error) {
	if _, err := s.find(ctx, name); err != nil {
		return Tick{}, err
	}
	at := s.opts.Now().Truncate(time.Second)
	ok, err := s.rdb.HSetNX(ctx, manualKey, name, at.Unix()).Result()
	if err != nil {
		return Tick{}, fmt.Errorf("run %s now: %w", name, err)
	}
	if !ok {
		v, err := s.rdb.HGet(ctx, manualKey, name).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return Tick{}, fmt.Errorf("run %s now: %w", name, err)
		}
		at = time.Unix(v, 0)
	}
	at = at.In(s.opts.Loc)
	return Tick{Job: name, ID: tickID(name, at, true), At: at, Manual: true}, nil
}
