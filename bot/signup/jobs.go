package signup

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// Job kinds the service handles (Service.Handle). They share the prefix
// JobPrefix, so a queue handler can route by it.
const (
	JobPrefix   = "signup."
	JobRemind   = "signup.remind"   // remind an event's confirmed attendees at one offset
	JobPromoted = "signup.promoted" // tell a wait-listed subscriber they got a place
	JobFeedback = "signup.feedback" // ask an attendee the feedback question
)

// jobRef is a job's payload.
type jobRef struct {
	Account string `json:"a"`
	Event   string `json:"e"`
	Offset  string `json:"o,omitempty"` // JobRemind: the reminder offset as written in the event
	OpenID  string `json:"u,omitempty"`
	Op      string `json:"op,omitempty"` // JobPromoted: the cancellation that freed the place
}

// ScheduleReminders enqueues ev's reminder jobs at StartsAt minus each
// offset (job ids <acct>:<event>:rem:<offset>). Call it when an event is
// published or moved; sign-ups call it too. Reminders whose time has
// passed are not scheduled; a reminder already scheduled for the same
// instant is not scheduled again (a race may schedule it twice, which is
// harmless: each attendee is reminded once per offset).
func (s *Service) ScheduleReminders(ctx context.Context, account string, ev content.Event) error {
	if ev.Status != content.StatusPublished || ev.StartsAt.IsZero() {
		return nil
	}
	offsets, err := ev.ReminderOffsets()
	if err != nil {
		return fmt.Errorf("schedule reminders of %s: %w", ev.ID, err)
	}
	k := keysFor(account, ev.ID)
	now := s.cfg.Now()
	for i, d := range offsets {
		at := ev.StartsAt.Add(-d)
		if !at.After(now) {
			continue
		}
		field := "rem:" + ev.Reminders[i] + ":" + itoa(at.Unix())
		if ok, err := s.rdb.HExists(ctx, k.meta(), field).Result(); err != nil {
			return fmt.Errorf("schedule reminders of %s: %w", ev.ID, err)
		} else if ok {
			continue
		}
		b, _ := json.Marshal(jobRef{Account: account, Event: ev.ID, Offset: ev.Reminders[i]})
		j := queue.Job{ID: account + ":" + ev.ID + ":rem:" + ev.Reminders[i], Kind: JobRemind, Lane: queue.LanePriority, Payload: b}
		if err := s.cfg.Queue(account).EnqueueAt(ctx, at, j); err != nil {
			return err
		}
		if err := s.rdb.HSet(ctx, k.meta(), field, now.Unix()).Err(); err != nil {
			return fmt.Errorf("schedule reminders of %s: %w", ev.ID, err)
		}
	}
	return nil
}

func (s *Service) enqueuePromoted(ctx context.Context, account, event, openID, op string) error {
	b, _ := json.Marshal(jobRef{Account: account, Event: event, OpenID: openID, Op: op})
	j := queue.Job{ID: account + ":" + event + ":promo:" + op, Kind: JobPromoted, Lane: queue.LanePriority, Payload: b}
	if _, err := s.cfg.Queue(account).EnqueueOnce(ctx, j, 24*time.Hour); err != nil {
		return err
	}
	return nil
}

func (s *Service) enqueueFeedback(ctx context.Context, account string, ev content.Event, openID string) error {
	if ok, err := s.rdb.SIsMember(ctx, keysFor(account, ev.ID).asked(), openID).Result(); err != nil || ok {
		return err
	}
	b, _ := json.Marshal(jobRef{Account: account, Event: ev.ID, OpenID: openID})
	j := queue.Job{ID: account + ":" + ev.ID + ":fb:" + openID, Kind: JobFeedback, Lane: queue.LanePriority, Payload: b}
	return s.cfg.Queue(account).EnqueueAt(ctx, ev.EndsAt.Add(s.cfg.FeedbackAfter), j)
}

// Handle implements queue.Handler for the service's jobs.
func (s *Service) Handle(ctx context.Context, j queue.Job) error {
	var ref jobRef
	if err := json.Unmarshal(j.Payload, &ref); err != nil {
		return queue.Permanent(fmt.Errorf("signup job %s: %w", j.ID, err))
	}
	ev, err := s.event(ctx, ref.Account, ref.Event)
	if errors.Is(err, ErrNotFound) {
		return nil // the event is gone: nothing to send
	}
	if err != nil {
		return err
	}
	switch j.Kind {
	case JobRemind:
		return s.remind(ctx, ref, ev)
	case JobPromoted:
		return s.notifyOne(ctx, ref.Account, ev, "promo:"+ref.Op, ref.OpenID, s.promotedText(ev), "")
	case JobFeedback:
		// Asked is written ahead of the send: an answer typed the moment
		// the question lands must find it (recording it only after the
		// send left a window, seen on a Cluster, where 评价1 was refused).
		asked := keysFor(ref.Account, ev.ID).asked()
		if err := s.rdb.SAdd(ctx, asked, ref.OpenID).Err(); err != nil {
			return err
		}
		return s.notifyOne(ctx, ref.Account, ev, "fb", ref.OpenID, fmt.Sprintf(txtFeedbackAsk, ev.Title), asked)
	}
	return queue.Permanent(fmt.Errorf("unknown job kind %q", j.Kind))
}

// Notice scopes: each notice of an event keeps its per-message states in
// notify (claimed, sent once, retried, resent after a crash).
func noticeScope(account, event, key string) notify.Scope {
	return notify.Scope{Account: account, Name: "ev:" + event + ":" + key, TTL: noticeKeep}
}

// noticeKeep is how long a notice's delivery states are kept.
const noticeKeep = 60 * 24 * time.Hour

// massKey names a notice's mass send in its scope.
const massKey = "notice"

// notifyOne sends text to one subscriber, once per scope key (a promotion,
// a feedback question). A lone notice never goes as a mass send (WeChat's
// list sends need two openids, and a mass message spends one of the
// month's four); without a direct channel it is counted as unreachable.
// recordTo (a set, "" none) gets the openid once the notice was sent.
func (s *Service) notifyOne(ctx context.Context, account string, ev content.Event, key, openID, text, recordTo string) error {
	p, id, err := s.cfg.Profiles.Get(ctx, account, openID)
	if errors.Is(err, profile.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	p.OpenID = openID
	m := profile.Member{ID: id, OpenID: openID, Profile: p}
	return s.deliver(ctx, noticeScope(account, ev.ID, key), ev, []profile.Member{m}, text, true, recordTo)
}

// deliver sends text to members through notify, shard by shard under a
// lease: a customer-service message inside their window, else a template
// notice when one is configured, else (directOnly false) a mass send.
// recordTo (a set, "" none) gets the openids the notice was sent to.
func (s *Service) deliver(ctx context.Context, sc notify.Scope, ev content.Event, members []profile.Member, text string, directOnly bool, recordTo string) error {
	n := s.notifier()
	rules := s.cfg.Rules(sc.Account)
	rules.Loc = s.cfg.Loc
	rules.TemplateConfigured = rules.TemplateConfigured && s.cfg.Template != ""
	now := s.cfg.Now()
	byShard := map[int][]profile.Member{}
	for _, m := range members {
		byShard[m.ID.Shard] = append(byShard[m.ID.Shard], m)
	}
	tmpl := wechat.TemplateMessage{TemplateID: s.cfg.Template,
		Data: map[string]string{"thing1": truncate(ev.Title, 20), "thing2": truncate(firstLine(text), 20)}}
	planned := false
	for shard, ms := range byShard {
		lease, err := n.Acquire(ctx, sc, shard, "notice")
		if errors.Is(err, notify.ErrLeaseLost) {
			return queue.Later(err, 5*time.Second) // another run sends it now
		}
		if err != nil {
			return err
		}
		states, mass, err := s.states(ctx, sc, shard, ms, plan.MonthNumber(now, rules.Loc))
		if err != nil {
			lease.Release(ctx)
			return err
		}
		var decided notify.Decided
		var sends []notify.Send
		for _, m := range ms {
			i := m.ID.Local
			if states.Done(i) {
				continue
			}
			m.Profile.SetMassCount(plan.MonthNumber(now, rules.Loc), mass, i)
			d := plan.Choose(m.Profile, plan.KindNotice, rules, plan.Options{DirectOnly: directOnly}, now)
			send := notify.Send{Member: m, Channel: d.Channel, Window: d.Window}
			switch d.Channel {
			case plan.ChannelCustom:
				send.Message.Text = text
				if !directOnly {
					send.Fallback = massKey
				}
				sends = append(sends, send)
			case plan.ChannelTemplate:
				t := tmpl
				t.ClientMsgID = clientMsgID(sc.Account, ev.ID, sc.Name+"-"+m.OpenID)
				send.Message.Template = &t
				sends = append(sends, send)
			case plan.ChannelMass:
				decided.Plan(i, massKey)
				planned = true
			case plan.ChannelSubscribe:
				decided.Skip(i, "subscribe_not_tracked") // opt-ins are not tracked for events
			default:
				decided.Skip(i, d.Reason.String())
			}
		}
		err = lease.Deliver(ctx, decided, sends)
		lease.Release(ctx)
		if errors.Is(err, notify.ErrLeaseLost) {
			return queue.Later(err, 5*time.Second)
		}
		if err != nil {
			return err
		}
		if err := s.recordSent(ctx, sc, shard, ms, recordTo); err != nil {
			return err
		}
	}
	if !directOnly && planned {
		if _, err := n.MassAll(ctx, sc, massKey, "", text); err != nil {
			return err
		}
		for shard, ms := range byShard {
			if err := s.recordSent(ctx, sc, shard, ms, recordTo); err != nil {
				return err
			}
		}
	}
	// No later write of this job may come to meet a Redis that restarted
	// and lost the last records: check every shard now, so the notifier's
	// journal writes them again (the campaign engine's finalize does the
	// same).
	return n.Sync(ctx, sc)
}

// states reads the delivery states of members (all of one shard), and
// the mass budget of month (profile.MassLevelIndexes) over the same ids.
func (s *Service) states(ctx context.Context, sc notify.Scope, shard int, ms []profile.Member, month uint16) (notify.States, [][]byte, error) {
	var top int64
	for _, m := range ms {
		top = max(top, m.ID.Local)
	}
	names := append(sc.StateIndexes(), profile.MassLevelIndexes(month)...)
	bits, err := s.cfg.Profiles.Bits(ctx, sc.Account, shard, names, 0, (top/8+1)*8)
	if err != nil {
		return nil, nil, err
	}
	k := len(sc.StateIndexes())
	return notify.States(bits[:k]), bits[k:], nil
}

// recordSent adds the members the notice was sent to to the set recordTo
// (what statistics and the feedback dialog read).
func (s *Service) recordSent(ctx context.Context, sc notify.Scope, shard int, ms []profile.Member, recordTo string) error {
	if recordTo == "" {
		return nil
	}
	var top int64
	for _, m := range ms {
		top = max(top, m.ID.Local)
	}
	bits, err := s.cfg.Profiles.Bits(ctx, sc.Account, shard, []string{sc.SentIndex()}, 0, (top/8+1)*8)
	if err != nil {
		return err
	}
	var sent []any
	for _, m := range ms {
		if profile.BitSet(bits[0], m.ID.Local) {
			sent = append(sent, m.OpenID)
		}
	}
	if len(sent) == 0 {
		return nil
	}
	return s.rdb.SAdd(ctx, recordTo, sent...).Err()
}

// notifier is the one sender (Config.Notifier).
func (s *Service) notifier() *notify.Notifier { return s.notify }

// remind sends the reminder at ref.Offset to every confirmed attendee not
// yet reminded at it: direct sends where a window or a template notice
// reaches them, the rest as mass sends in lists of up to 10,000.
func (s *Service) remind(ctx context.Context, ref jobRef, ev content.Event) error {
	now := s.cfg.Now()
	d, err := time.ParseDuration(ref.Offset)
	if err != nil {
		return queue.Permanent(fmt.Errorf("reminder offset %q: %w", ref.Offset, err))
	}
	switch {
	case ev.Status != content.StatusPublished, !now.Before(ev.StartsAt):
		return nil // unpublished, or too late to remind
	case now.Before(ev.StartsAt.Add(-d).Add(-5 * time.Minute)):
		return nil // the event moved later: a job at the new time does it
	case !hasOffset(ev, ref.Offset):
		return nil // the offset was removed
	}
	openIDs, err := s.Confirmed(ctx, ref.Account, ev.ID)
	if err != nil {
		return err
	}
	var members []profile.Member
	for _, o := range openIDs {
		p, id, err := s.cfg.Profiles.Get(ctx, ref.Account, o)
		if errors.Is(err, profile.ErrNotFound) {
			continue // erased
		}
		if err != nil {
			return err
		}
		p.OpenID = o
		members = append(members, profile.Member{ID: id, OpenID: o, Profile: p})
	}
	k := keysFor(ref.Account, ev.ID)
	return s.deliver(ctx, noticeScope(ref.Account, ev.ID, "rem:"+ref.Offset), ev, members, s.reminderText(ev), false, k.reminded(ref.Offset))
}

func hasOffset(ev content.Event, off string) bool {
	for _, r := range ev.Reminders {
		if r == off {
			return true
		}
	}
	return false
}

// clientMsgID is a stable id of one notice, within WeChat's 64 bytes.
func clientMsgID(account, event, key string) string {
	h := sha1.Sum([]byte(account + "\x00" + event + "\x00" + key))
	return "kbev-" + hex.EncodeToString(h[:])
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
