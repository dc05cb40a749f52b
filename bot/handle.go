package bot

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// Handling one message exactly once: Store.Begin claims it and loads the
// subscriber, the handler decides, Store.Commit records the outcome with
// the reply kept for WeChat's retries (or, for a read-only answer, the
// recorder does, after the reply: record.go). webhook.go is the HTTP side.

// process handles one message exactly once: a retry of a message already
// handled gets the first reply back and changes nothing.
func (w *Webhook) process(ctx context.Context, msg *Message, mix *message.MixMessage) (Reply, error) {
	if msg.isReport() {
		if w.opts.Reports != nil {
			return Reply{}, w.opts.Reports.Report(ctx, msg, mix)
		}
		return Reply{}, nil
	}
	sess, err := w.store.Begin(ctx, msg.Account, msg.OpenID, msg.dedupKey(), claimTTL)
	if err != nil {
		return Reply{}, err
	}
	return w.settle(ctx, sess, msg, false)
}

// settle handles msg on sess and commits the outcome; when another
// message of the same subscriber won the race, it handles msg again on the
// new profile. An outcome the recorder may commit after the reply (see
// recorder: answered early) is handed to it, and the reply returned at
// once. With answered set the reply went out already (the recorder
// calls): settle only records, and returns profile.ErrDuplicate when
// another attempt has the message.
func (w *Webhook) settle(ctx context.Context, sess *Session, msg *Message, answered bool) (Reply, error) {
	for range 20 {
		if sess.Duplicate {
			if answered {
				return Reply{}, profile.ErrDuplicate
			}
			w.opts.Metrics.dedup.Inc()
			return w.awaitReply(ctx, sess)
		}
		req := &Request{Msg: msg, Profile: sess.Profile.Clone(), ID: sess.ID, New: sess.Profile == nil, Erased: sess.Profile == nil && sess.Erased, Now: w.opts.Now()}
		if req.New {
			req.Profile = &profile.Profile{OpenID: msg.OpenID}
		}
		if len(sess.Dialog) > 0 {
			json.Unmarshal(sess.Dialog, &req.Dialog) // a bad record is an empty dialog
		}
		dialog := req.Dialog
		reply, err := w.handler.Handle(ctx, req)
		if err != nil {
			return Reply{}, err
		}
		out := profile.Outcome{Profile: req.Profile, ReplyTTL: w.opts.ReplyTTL, DialogTTL: w.opts.DialogTTL}
		out.Reply, _ = json.Marshal(reply)
		if req.Dialog.Name != "" {
			out.Dialog, _ = json.Marshal(req.Dialog)
		}
		if !answered && req.readOnly && req.Dialog == dialog && profile.OnlyActivity(sess.Profile, req.Profile) &&
			w.rec.add(&pending{sess: sess, msg: msg, out: &out}) {
			w.opts.Metrics.early.Inc()
			w.observe(msg, reply)
			return reply, nil
		}
		err = w.store.Commit(ctx, sess, out)
		switch {
		case err == nil:
			if !answered {
				w.observe(msg, reply)
			}
			return reply, nil
		case errors.Is(err, profile.ErrConflict):
			// Another message of the same subscriber won the race: handle
			// this one again on the new profile.
			if err := w.store.Reload(ctx, sess); err != nil {
				return Reply{}, err
			}
		case errors.Is(err, profile.ErrDuplicate):
			sess.Duplicate = true
		default:
			return Reply{}, err
		}
	}
	return Reply{}, errors.New("handle message: too many concurrent changes")
}

func (w *Webhook) observe(msg *Message, reply Reply) {
	if w.opts.Observe != nil {
		w.opts.Observe(msg, reply)
	}
}

// Flush waits until the messages answered early so far are recorded (see
// recorder), or ctx ends. Tests and benchmarks call it before they read
// what a conversation recorded.
func (w *Webhook) Flush(ctx context.Context) error { return w.rec.flush(ctx) }

// Close stops answering early and waits, until ctx ends, for the messages
// answered early to be recorded. Call it once the HTTP server stopped.
func (w *Webhook) Close(ctx context.Context) error { return w.rec.close(ctx) }

// awaitReply waits for the attempt that owns a message to store its reply.
func (w *Webhook) awaitReply(ctx context.Context, sess *Session) (Reply, error) {
	raw := sess.Reply
	delay := 10 * time.Millisecond
	for raw == nil {
		rec, done, err := w.store.StoredReply(ctx, sess)
		if err != nil {
			return Reply{}, err
		}
		if done {
			if rec == nil {
				// The owner's claim lapsed without an answer: let WeChat retry.
				return Reply{}, errors.New("first attempt of a message vanished")
			}
			raw = rec
			break
		}
		select {
		case <-ctx.Done():
			return Reply{}, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
	var reply Reply
	if err := json.Unmarshal(raw, &reply); err != nil {
		return Reply{}, err
	}
	return reply, nil
}

// Session is the profile store's session, named here for awaitReply.
type Session = profile.Session
