package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Lane orders work: a worker takes bulk jobs only while the priority lane is
// empty, so replies and reminders overtake a campaign's bulk sends.
type Lane uint8

const (
	// LaneBulk is the default lane, for campaign sends.
	LaneBulk Lane = iota
	// LanePriority is for work a person waits for: replies, reminders.
	LanePriority
)

// lanes lists the lanes in the order workers read them.
var lanes = [...]Lane{LanePriority, LaneBulk}

// String returns "bulk" or "priority", the lane's name in keys and metrics.
func (l Lane) String() string {
	switch l {
	case LaneBulk:
		return "bulk"
	case LanePriority:
		return "priority"
	}
	return "lane" + strconv.Itoa(int(l))
}

func (l Lane) valid() bool { return l == LaneBulk || l == LanePriority }

func parseLane(s string) (Lane, error) {
	switch s {
	case "bulk":
		return LaneBulk, nil
	case "priority":
		return LanePriority, nil
	}
	return 0, fmt.Errorf("unknown lane %q", s)
}

// Job is one unit of work. Jobs are delivered at least once: a handler must
// make its effect idempotent, keyed by ID (see Marks).
type Job struct {
	// ID is the job's idempotency key, e.g. "camp42:s3:c17". It also picks
	// the job's partition.
	ID string
	// Kind tells the handler what to do, e.g. "send".
	Kind string
	// Lane is LaneBulk unless set.
	Lane Lane
	// Payload is opaque to the queue.
	Payload []byte
	// Attempt counts the earlier runs that failed: 0 on the first run.
	Attempt int
}

func (j Job) validate() error {
	if j.ID == "" {
		return errors.New("job without id")
	}
	if !j.Lane.valid() {
		return fmt.Errorf("job %s: invalid lane %d", j.ID, j.Lane)
	}
	if j.Attempt < 0 {
		return fmt.Errorf("job %s: negative attempt", j.ID)
	}
	return nil
}

// encode packs a job (its lane excepted: the stream implies it) as
// "<attempt>:<len(id)>:<len(kind)>:" id kind payload. Lua never parses it.
func encode(j Job) string {
	var b strings.Builder
	b.Grow(24 + len(j.ID) + len(j.Kind) + len(j.Payload))
	b.WriteString(strconv.Itoa(j.Attempt))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(len(j.ID)))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(len(j.Kind)))
	b.WriteByte(':')
	b.WriteString(j.ID)
	b.WriteString(j.Kind)
	b.Write(j.Payload)
	return b.String()
}

var errMalformed = errors.New("malformed job")

func decode(s string, lane Lane) (Job, error) {
	var n [3]int
	for i := range n {
		k := strings.IndexByte(s, ':')
		if k < 0 {
			return Job{}, errMalformed
		}
		v, err := strconv.Atoi(s[:k])
		if err != nil || v < 0 {
			return Job{}, errMalformed
		}
		n[i], s = v, s[k+1:]
	}
	if n[1]+n[2] > len(s) {
		return Job{}, errMalformed
	}
	j := Job{Attempt: n[0], ID: s[:n[1]], Kind: s[n[1] : n[1]+n[2]], Lane: lane}
	if p := s[n[1]+n[2]:]; p != "" {
		j.Payload = []byte(p)
	}
	return j, nil
}

// Handler runs jobs. A nil error acknowledges the job; RetryError and
// PermanentError steer what happens otherwise; any other error retries the
// job with backoff until Options.MaxAttempts runs have failed.
type Handler interface {
	Handle(ctx context.Context, j Job) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, j Job) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, j Job) error { return f(ctx, j) }

// RetryError asks for the job to run again after a given delay, e.g. after
// WeChat's 45009 frequency limit. It counts as a failed attempt.
type RetryError struct {
	// Free marks a wait, not a failure (quiet hours, a paused campaign, a
	// batch that made progress before WeChat asked it to slow down): the
	// job runs again after After without counting an attempt, so it never
	// becomes a dead letter by waiting.
	Free  bool
	Err   error
	After time.Duration
	// At, when set, is the instant the job runs again, instead of After:
	// a handler that decided on a clock that moved on while it ran (a
	// send-time wait until 10:00) must not shift its wake-up by the move.
	At time.Time
}

func (e *RetryError) Error() string {
	if !e.At.IsZero() {
		return fmt.Sprintf("retry at %v: %v", e.At.Format(time.RFC3339), e.Err)
	}
	return fmt.Sprintf("retry after %v: %v", e.After, e.Err)
}
func (e *RetryError) Unwrap() error { return e.Err }

// Retry wraps err so that the job runs again after at least after.
func Retry(err error, after time.Duration) error { return &RetryError{Err: err, After: after} }

// Later asks for the job to run again after at least after, without
// counting a failed attempt (see RetryError.Free).
func Later(err error, after time.Duration) error {
	return &RetryError{Err: err, After: after, Free: true}
}

// At asks for the job to run again at t (at once when t has passed),
// without counting a failed attempt: Later with an absolute time, for a
// wait until a wall-clock instant that must not move with the time the
// handler took or the clock's jumps.
func At(err error, t time.Time) error {
	return &RetryError{Err: err, At: t, Free: true}
}

// PermanentError marks a failure that no retry can fix (an unsubscribed
// recipient, a malformed payload): the job goes straight to the dead letters.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the job is not retried.
func Permanent(err error) error { return &PermanentError{Err: err} }
