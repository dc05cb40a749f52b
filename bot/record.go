package bot

import (
	"context"
	"errors"
	"hash/crc32"
	"sync"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// Answered early.
//
// Most messages change something (an onboarding answer, a setting, a
// quiz answer): their outcome is committed first and the reply follows, so
// a reply never tells of a change that was not recorded. A message that a
// ReadOnly handler answered without changing anything but the subscriber's
// activity (帮助, 排行, 我的报名, a search without a topic) has nothing to tell
// of: its reply goes out at once and the recorder commits its outcome a
// moment later, off WeChat's wait. That outcome is the activity (the
// customer-service window WeChat opened, the reading hour) and the dedup
// record that answers WeChat's retries. The commit's round trip costs as
// much as the whole of a bare echo server's answer, so this is half of
// what WeChat waits for in a conversation (BENCHMARKS.md, "Webhook").
//
// A message of a subscriber the replica has cached (a conversation) is
// claimed by its commit (Store.Begin read no claim from Redis). One that
// Begin claimed in Redis holds that claim for claimTTL only: when the
// recorder's commit finds it gone, it claims the message in the commit
// instead (Session.ReclaimLate), which records it unless a WeChat retry
// took it meanwhile.
//
// What answering first gives up, and why each is acceptable:
//   - The reply was decided on the replica's cached profile, which only the
//     commit checks. When another replica changed the subscriber in
//     between, the commit conflicts and the recorder handles the message
//     again on the new profile, to record the right outcome; the resident
//     has seen a help or search decided on a profile a moment old. Of the
//     profile, read-only handlers read only group, town, interests and
//     elder mode.
//   - A replica killed in the few milliseconds in between loses the
//     activity of the messages it had answered and not yet recorded. A
//     lost activity makes a window look older or closed: kepubot then
//     sends less by customer-service message, never more than WeChat allows.
//   - A WeChat retry in between (the reply did not reach WeChat in its 5 s)
//     finds no dedup record yet and is answered again: read-only, the same
//     answer, and the dedup record lets one of the two commits through.
//   - When Redis fails, the recorder retries with backoff for
//     recordFor; when its queues are full (Redis slower than the traffic)
//     the message is committed before it is answered, as any other.
type recorder struct {
	w      *Webhook
	mu     sync.RWMutex // guards closed against add's sends
	closed bool
	queues []chan *pending
	// unrecorded counts messages answered and not yet recorded, under
	// countMu; idle is signalled when it drops to 0 (Flush).
	countMu    sync.Mutex
	unrecorded int
	idle       *sync.Cond
	done       sync.WaitGroup
}

// pending is a message answered early, waiting to be recorded.
type pending struct {
	sess *Session
	msg  *Message
	// out is the outcome decided when it was answered; nil once a
	// conflict showed the profile changed (then it is handled again).
	out *profile.Outcome
}

const (
	recordWorkers = 8
	recordQueue   = 256
	// recordFor is how long the recorder keeps retrying a message's commit
	// while Redis fails (a restart, a failover) before it gives it up.
	recordFor = time.Minute
)

func newRecorder(w *Webhook) *recorder {
	r := &recorder{w: w, queues: make([]chan *pending, recordWorkers)}
	r.idle = sync.NewCond(&r.countMu)
	for i := range r.queues {
		q := make(chan *pending, recordQueue)
		r.queues[i] = q
		r.done.Add(1)
		go func() {
			defer r.done.Done()
			for p := range q {
				r.record(p)
				r.taken(-1)
			}
		}()
	}
	return r
}

// add hands p to the recorder; false when it cannot take it (closed, or
// its queue is full), and the caller commits p itself. One subscriber's
// messages go to one queue, so they are recorded in order.
func (r *recorder) add(p *pending) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return false
	}
	r.taken(1)
	select {
	case r.queues[crc32.ChecksumIEEE([]byte(p.msg.OpenID))%recordWorkers] <- p:
		return true
	default:
		r.taken(-1)
		return false
	}
}

// taken adds n to the messages answered and not yet recorded.
func (r *recorder) taken(n int) {
	r.countMu.Lock()
	r.unrecorded += n
	if r.unrecorded == 0 {
		r.idle.Broadcast()
	}
	r.countMu.Unlock()
}

// record commits p, retrying while Redis is unavailable.
func (r *recorder) record(p *pending) {
	w := r.w
	delay := 20 * time.Millisecond
	deadline := time.Now().Add(recordFor)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), handleTimeout)
		err := w.recordOnce(ctx, p)
		cancel()
		if err == nil {
			return
		}
		if !unavailable(err) || time.Now().Add(delay).After(deadline) {
			w.logger.Error("a message answered early was not recorded", "account", p.msg.Account, "kind", p.msg.kind(), "err", err)
			w.opts.Metrics.lost.Inc()
			return
		}
		w.opts.Metrics.retries.Inc()
		time.Sleep(delay)
		delay = min(2*delay, 2*time.Second)
	}
}

// recordOnce commits p's outcome, or handles p's message again when the
// profile changed since it was answered.
func (w *Webhook) recordOnce(ctx context.Context, p *pending) error {
	for {
		var err error
		if p.out != nil {
			err = w.store.Commit(ctx, p.sess, *p.out)
			if errors.Is(err, profile.ErrConflict) {
				p.out = nil // from now on, handled again on the new profile
				if err := w.store.Reload(ctx, p.sess); err != nil {
					return err
				}
				continue
			}
		} else {
			_, err = w.settle(ctx, p.sess, p.msg, true)
		}
		if !errors.Is(err, profile.ErrDuplicate) {
			return err // nil, or tried again as it was: nothing was written
		}
		if p.sess.ClaimedLate() {
			return nil // another attempt claimed or answered the message
		}
		// Begin's claim is not in Redis any more: it lapsed (Redis failed
		// for longer than claimTTL) or a WeChat retry took the message.
		// Claim it in the commit, which refuses if somebody has it.
		p.sess.ReclaimLate()
	}
}

// flush waits until every message answered so far is recorded (or given
// up), or ctx ends.
func (r *recorder) flush(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		r.countMu.Lock()
		r.idle.Broadcast()
		r.countMu.Unlock()
	})
	defer stop()
	r.countMu.Lock()
	defer r.countMu.Unlock()
	for r.unrecorded > 0 && ctx.Err() == nil {
		r.idle.Wait()
	}
	return ctx.Err()
}

// close stops taking messages and waits, until ctx ends, for those taken
// to be recorded.
func (r *recorder) close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		for _, q := range r.queues {
			close(q)
		}
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.done.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
