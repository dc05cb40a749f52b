package jobs

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Policy says what a job does about ticks it missed while no replica was
// running (or all were busy past the on-time window).
type Policy string

const (
	// PolicySkip fires none of the missed ticks: the job waits for its next
	// tick. For work that only makes sense on time (a morning tip).
	PolicySkip Policy = "skip"
	// PolicyCatchUpLast fires the most recent missed tick, once, if it is
	// no older than the job's Grace; earlier missed ticks are dropped. For
	// work that should happen late rather than never (a tag sync).
	PolicyCatchUpLast Policy = "catch_up_last"
)

// Job is one scheduled job. Run must make its effects idempotent by the
// tick: it may run twice for one tick (a lease lost to a stalled replica),
// and everything it enqueues should carry Tick.Key as its idempotency key.
type Job struct {
	// Name names the job in keys, logs and the admin API: 1-100 of
	// a-z 0-9 _ - : / .
	Name string
	// Account is the WeChat account the job works for (AccountJob names
	// it); the admin API lists and changes a job through its account only.
	// Empty for a job of the whole deployment.
	Account string
	// Spec is a standard five-field cron spec ("0 8 * * *") or a
	// descriptor (@daily), read in the scheduler's location unless it
	// starts with CRON_TZ=. @every is refused: ticks must fall on fixed
	// times so that every replica computes the same ones.
	Spec string
	// Policy is PolicySkip unless set.
	Policy Policy
	// Grace bounds how late a missed tick may still fire under
	// PolicyCatchUpLast.
	Grace time.Duration
	// Run does the work of one tick.
	Run func(ctx context.Context, tick Tick) error
}

// Tick is one run of a job.
type Tick struct {
	// Job is the job's name.
	Job string
	// ID identifies the tick: "<job>@<RFC 3339 time>" for a scheduled tick,
	// "manual@<RFC 3339 time>" for a run asked for through RunNow.
	ID string
	// At is the scheduled time, in the scheduler's location (for a manual
	// run, when it was asked for).
	At time.Time
	// Manual is set for a run asked for through RunNow.
	Manual bool
	// Token is the lease's fencing token: it grows with every lease taken
	// for the job, so a write guarded by it can refuse a stale holder.
	Token int64
}

// Key is the tick's idempotency key, unique across jobs: the ID of a
// scheduled tick, "<job>@manual@<time>" for a manual one. Use it (or a
// string derived from it) as the id of everything the run enqueues.
func (t Tick) Key() string {
	if t.Manual {
		return t.Job + "@" + t.ID
	}
	return t.ID
}

func tickID(job string, at time.Time, manual bool) string {
	if manual {
		return "manual@" + at.Format(time.RFC3339)
	}
	return job + "@" + at.Format(time.RFC3339)
}

// AccountJob names the job that does base for one account:
// "<base>:<account>" (daily-tip:agri). Each account's job has its own
// schedule state, pause switch and history.
func AccountJob(base, account string) string { return base + ":" + account }

var jobNameRE = regexp.MustCompile(`^[a-z0-9_\-:/.]{1,100}$`)

// Errors callers branch on.
var (
	ErrUnknownJob = errors.New("unknown job")
	ErrBadSpec    = errors.New("invalid cron spec")
)

// ParseSpec parses a cron spec in loc (see Job.Spec).
func ParseSpec(spec string, loc *time.Location) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "@every") {
		return nil, fmt.Errorf("%w %q: @every is not supported, use a spec with fixed times", ErrBadSpec, spec)
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadSpec, spec, err)
	}
	ss, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%w %q: unsupported schedule", ErrBadSpec, spec)
	}
	// robfig reads a spec without CRON_TZ= in time.Local, the process's
	// zone: the district's zone must not depend on the server's.
	if ss.Location == time.Local && !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") {
		ss.Location = loc
	}
	return ss, nil
}

func (j *Job) validate() error {
	if !jobNameRE.MatchString(j.Name) {
		return fmt.Errorf("job %q: invalid name (1-100 of a-z 0-9 _ - : / .)", j.Name)
	}
	if j.Run == nil {
		return fmt.Errorf("job %s: no Run function", j.Name)
	}
	switch j.Policy {
	case "":
		j.Policy = PolicySkip
	case PolicySkip, PolicyCatchUpLast:
	default:
		return fmt.Errorf("job %s: unknown policy %q (want skip or catch_up_last)", j.Name, j.Policy)
	}
	if j.Grace < 0 {
		return fmt.Errorf("job %s: negative grace", j.Name)
	}
	return nil
}
