package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoDeadLetter is returned by RetryDead for an id that is not (or no
// longer) a dead letter.
var ErrNoDeadLetter = errors.New("no such dead letter")

// DeadLetter is a job that failed for good, kept for organizers to inspect
// and retry.
type DeadLetter struct {
	// ID identifies the dead letter (its entry in the dead-letter stream).
	ID     string
	Job    Job
	Reason string
	At     time.Time
}

// bury records j as a dead letter. The dead-letter stream has its own hash
// tag, so this cannot be one script with the acknowledgement that follows:
// a crash in between leaves the delivery pending, and the job runs (and may
// be buried) again — a duplicate dead letter, never a lost one.
func (q *Queue) bury(ctx context.Context, j Job, reason string) error {
	err := q.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: deadKey(q.opts.Name),
		MaxLen: deadLetterCap,
		Approx: true,
		Values: []string{"job", encode(j), "lane", j.Lane.String(), "reason", reason, "at", msString(q.opts.Now())},
	}).Err()
	if err != nil {
		return fmt.Errorf("bury %s: %w", j.ID, err)
	}
	return nil
}

// DeadLetters returns up to limit dead letters, newest first.
func (q *Queue) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		return nil, nil
	}
	msgs, err := q.rdb.XRevRangeN(ctx, deadKey(q.opts.Name), "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		d, err := parseDead(m)
		if err != nil {
			q.log.Warn("skipping malformed dead letter", "id", m.ID, "err", err)
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

func parseDead(m redis.XMessage) (DeadLetter, error) {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	lane, err := parseLane(str("lane"))
	if err != nil {
		return DeadLetter{}, err
	}
	j, err := decode(str("job"), lane)
	if err != nil {
		return DeadLetter{}, err
	}
	ms, err := strconv.ParseInt(str("at"), 10, 64)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("dead letter time: %w", err)
	}
	return DeadLetter{ID: m.ID, Job: j, Reason: str("reason"), At: time.UnixMilli(ms)}, nil
}

// RetryDead enqueues the dead letter id again, with its attempts reset, and
// removes it from the dead letters.
func (q *Queue) RetryDead(ctx context.Context, id string) error {
	msgs, err := q.rdb.XRange(ctx, deadKey(q.opts.Name), id, id).Result()
	if err != nil {
		return fmt.Errorf("retry dead letter %s: %w", id, err)
	}
	if len(msgs) == 0 {
		return fmt.Errorf("retry dead letter %s: %w", id, ErrNoDeadLetter)
	}
	d, err := parseDead(msgs[0])
	if err != nil {
		return fmt.Errorf("retry dead letter %s: %w", id, err)
	}
	d.Job.Attempt = 0
	// Enqueue first: a crash in between leaves the letter to retry again,
	// and the handler's idempotency absorbs the second run.
	if err := q.Enqueue(ctx, d.Job); err != nil {
		return fmt.Errorf("retry dead letter %s: %w", id, err)
	}
	if err := q.rdb.XDel(ctx, deadKey(q.opts.Name), id).Err(); err != nil {
		return fmt.Errorf("retry dead letter %s: remove: %w", id, err)
	}
	return nil
}

// PurgeDead deletes every dead letter and returns how many there were.
func (q *Queue) PurgeDead(ctx context.Context) (int64, error) {
	key := deadKey(q.opts.Name)
	var n *redis.IntCmd
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.XLen(ctx, key)
		p.Del(ctx, key)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge dead letters: %w", err)
	}
	return n.Val(), nil
}
