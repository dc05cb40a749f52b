package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/redis/go-redis/v9"
)

// settleTimeout bounds the Redis calls that record a job's outcome; they run
// even when the handlers' context is cancelled.
const settleTimeout = 10 * time.Second

// run runs one delivery and records its outcome.
func (w *Worker) run(ctx context.Context, d delivery) {
	defer w.track(d, false)
	q := w.q
	if d.err != nil {
		q.log.Error("burying malformed job", "partition", d.pt.tag, "entry", d.id, "err", d.err)
		w.settle(ctx, d, outcomeDead, 0, func(sctx context.Context) error {
			return q.bury(sctx, Job{ID: "malformed:" + d.id, Lane: d.pt.lane}, d.err.Error())
		})
		return
	}
	start := time.Now()
	err := w.call(ctx, d.job)
	took := time.Since(start)
	if w.abandoned.Load() {
		// Stop gave up on this job: its delivery stays pending for another
		// worker, as if this process had died.
		q.metrics.observe(q.opts.Name, d.job, outcomeAbandoned, took)
		return
	}
	if err == nil {
		q.metrics.observe(q.opts.Name, d.job, outcomeDone, took)
		w.ack(d)
		return
	}

	j := d.job
	failures := j.Attempt + 1
	var perm *PermanentError
	var retry *RetryError
	switch {
	case errors.As(err, &perm):
		q.log.Warn("job failed permanently", "id", j.ID, "kind", j.Kind, "attempt", failures, "err", err)
		w.settle(ctx, d, outcomeDead, took, func(sctx context.Context) error {
			return q.bury(sctx, j, perm.Err.Error())
		})
	case errors.As(err, &retry) && retry.Free:
		// A wait, not a failure: the attempt count stays, and the log says
		// it at debug level (a campaign held by quiet hours waits quietly).
		q.log.Debug("job waits", "id", j.ID, "kind", j.Kind, "delay", retry.After, "at", retry.At, "err", err)
		q.metrics.observe(q.opts.Name, j, outcomeRetry, took)
		w.rescheduleAt(ctx, d, j, retry.due(q.opts.Now()))
	case failures >= q.opts.MaxAttempts:
		q.log.Warn("job failed too often", "id", j.ID, "kind", j.Kind, "attempt", failures, "err", err)
		w.settle(ctx, d, outcomeDead, took, func(sctx context.Context) error {
			return q.bury(sctx, j, fmt.Sprintf("failed %d times, last: %v", failures, err))
		})
	default:
		due := q.opts.Now().Add(q.opts.Backoff(failures))
		if errors.As(err, &retry) {
			due = retry.due(q.opts.Now())
		}
		q.log.Info("job failed, will retry", "id", j.ID, "kind", j.Kind, "attempt", failures, "due", due, "err", err)
		q.metrics.observe(q.opts.Name, j, outcomeRetry, took)
		next := j
		next.Attempt = failures
		w.rescheduleAt(ctx, d, next, due)
	}
}

// due is when a job that returned e runs again, on a clock now.
func (e *RetryError) due(now time.Time) time.Time {
	if !e.At.IsZero() {
		return e.At
	}
	return now.Add(e.After)
}

// rescheduleAt moves a delivery's job (as next) to the delayed set, due at
// due, and acknowledges the delivery, in one script.
func (w *Worker) rescheduleAt(ctx context.Context, d delivery, next Job, due time.Time) {
	q := w.q
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	keys := []string{d.pt.stream(), d.pt.delayed()}
	if err := retryScript.Run(sctx, q.rdb, keys, group, d.id, due.UnixMilli(), delayedMember(next)).Err(); err != nil {
		// The delivery stays pending; it runs again after the
		// visibility timeout.
		q.log.Warn("scheduling retry failed", "id", next.ID, "err", err)
	}
}

// settle records a failed job (bury), then acknowledges its delivery.
func (w *Worker) settle(ctx context.Context, d delivery, outcome string, took time.Duration, record func(context.Context) error) {
	w.q.metrics.observe(w.q.opts.Name, d.job, outcome, took)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := record(sctx); err != nil {
		w.q.log.Warn("recording job outcome failed", "id", d.job.ID, "err", err)
		return // unacknowledged: it runs again after the visibility timeout
	}
	w.ack(d)
}

// call runs the handler, turning a panic into an error.
func (w *Worker) call(ctx context.Context, j Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			w.q.log.Error("handler panicked", "id", j.ID, "kind", j.Kind, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return w.h.Handle(ctx, j)
}

func (w *Worker) ack(d delivery) {
	select {
	case w.acks <- d:
	case <-w.ackDone:
	}
}

// ackLoop acknowledges and deletes finished deliveries, batching those that
// finish together into one round trip.
func (w *Worker) ackLoop() {
	defer close(w.ackDone)
	batch := make([]delivery, 0, ackBatch)
	for {
		select {
		case d := <-w.acks:
			batch = append(batch, d)
		case <-w.ackStop:
			for {
				select {
				case d := <-w.acks:
					batch = append(batch, d)
					continue
				default:
				}
				break
			}
			w.flushAcks(batch)
			return
		}
	fill:
		for len(batch) < ackBatch {
			select {
			case d := <-w.acks:
				batch = append(batch, d)
			default:
				break fill
			}
		}
		w.flushAcks(batch)
		batch = batch[:0]
	}
}

func (w *Worker) flushAcks(batch []delivery) {
	if len(batch) == 0 {
		return
	}
	byStream := map[string][]string{}
	for _, d := range batch {
		s := d.pt.stream()
		byStream[s] = append(byStream[s], d.id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	// XACK and XDEL of one stream touch one key: MULTI keeps them together.
	// One transaction per stream, as a transaction may not span hash slots
	// on a Cluster (CROSSSLOT); the streams' transactions run side by side.
	errs := make(chan error, len(byStream))
	for s, ids := range byStream {
		go func() {
			_, err := w.q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.XAck(ctx, s, group, ids...)
				p.XDel(ctx, s, ids...)
				return nil
			})
			errs <- err
		}()
	}
	var err error
	for range byStream {
		err = cmp.Or(err, <-errs)
	}
	if err != nil {
		w.q.log.Warn("acknowledging jobs failed; they will run again", "jobs", len(batch), "err", err)
	}
}
