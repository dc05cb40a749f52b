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
		return s.notifyOnce(ctx, ref.Account, ev, keysFor(ref.Account, ev.ID).promo(), ref.Op, ref.OpenID,
			s.promotedText(ev), "promo-"+ref.Op)
	case JobFeedback:
		return s.notifyOnce(ctx, ref.Account, ev, keysFor(ref.Account, ev.ID).asked(), ref.OpenID, ref.OpenID,
			fmt.Sprintf(txtFeedbackAsk, ev.Title), "fb-"+ref.OpenID)
	}
	return queue.Permanent(fmt.Errorf("unknown job kind %q", j.Kind))
}

// notifyOnce sends text to one subscriber, once per member of the set
// claims: claimed before the send (customer-service messages have no
// idempotency key at WeChat) and released when the send fails in a way a
// retry may fix. A lone notice never goes as a mass send (WeChat's list
// sends need two openids, and a mass message spends one of the month's
// four); without a direct channel it is counted as undelivered.
func (s *Service) notifyOnce(ctx context.Context, account string, ev content.Event, claims, member, openID, text, msgKey string) error {
	ok, err := s.rdb.SAdd(ctx, claims, member).Result()
	if err != nil {
		return err
	}
	if ok == 0 {
		return nil
	}
	ch, err := s.sendDirect(ctx, account, ev, openID, text, msgKey, true)
	if err != nil {
		s.rdb.SRem(ctx, claims, member)
		return err
	}
	if ch == plan.ChannelNone {
		s.rdb.HIncrBy(ctx, keysFor(account, ev.ID).reasons(), "undelivered", 1)
	}
	return nil
}

// sendDirect sends text to openID through the cheapest channel open now.
// It returns ChannelMass (nothing sent) when only a mass send would reach
// them and directOnly is false, ChannelNone when nothing would, and a
// queue.Retry error when WeChat asks to try again later.
func (s *Service) sendDirect(ctx context.Context, account string, ev content.Event, openID, text, msgKey string, directOnly bool) (plan.Channel, error) {
	p, _, err := s.cfg.Profiles.Get(ctx, account, openID)
	if errors.Is(err, profile.ErrNotFound) {
		return plan.ChannelNone, nil
	}
	if err != nil {
		return plan.ChannelNone, err
	}
	rules := s.cfg.Rules(account)
	rules.Loc = s.cfg.Loc
	rules.TemplateConfigured = rules.TemplateConfigured && s.cfg.Template != ""
	now := s.cfg.Now()
	d := plan.Choose(p, plan.KindNotice, rules, plan.Options{DirectOnly: directOnly}, now)
	if d.Channel == plan.ChannelNone || d.Channel == plan.ChannelMass || d.Channel == plan.ChannelSubscribe {
		if d.Channel == plan.ChannelSubscribe {
			return plan.ChannelNone, nil // opt-ins are not tracked for events
		}
		return d.Channel, nil
	}
	if s.cfg.Sender == nil {
		return plan.ChannelNone, nil
	}
	sender, err := s.cfg.Sender(account)
	if err != nil {
		return plan.ChannelNone, nil // WeChat not configured for the account
	}
	if d.Channel == plan.ChannelCustom {
		err := sender.SendText(ctx, openID, text)
		switch wechat.Classify(err) {
		case wechat.OK:
			kind := profile.SpendMessage
			if d.Window == plan.WindowEvent {
				kind = profile.SpendEvent
			}
			s.cfg.Profiles.Spend(ctx, account, openID, kind, 0)
			return plan.ChannelCustom, nil
		case wechat.WindowClosed, wechat.QuotaUsed:
			// Our record of the window was stale: try the next channel.
			if !rules.TemplateConfigured || rules.AccountType != plan.ServiceAccount {
				if directOnly {
					return plan.ChannelNone, nil
				}
				return plan.ChannelMass, nil
			}
		default:
			return plan.ChannelNone, sendError(err)
		}
	}
	_, err = sender.SendTemplate(ctx, wechat.TemplateMessage{
		ToUser: openID, TemplateID: s.cfg.Template,
		Data:        map[string]string{"thing1": truncate(ev.Title, 20), "thing2": truncate(firstLine(text), 20)},
		ClientMsgID: clientMsgID(account, ev.ID, msgKey),
	})
	if err := sendError(err); err != nil {
		return plan.ChannelNone, err
	}
	return plan.ChannelTemplate, nil
}

// sendError maps a WeChat error to what the job does: nil for done (sent,
// or refused for good), a retry for what may pass.
func sendError(err error) error {
	switch wechat.Classify(err) {
	case wechat.OK, wechat.Duplicate, wechat.Unfollowed, wechat.WindowClosed, wechat.QuotaUsed, wechat.Permanent:
		return nil
	}
	return queue.Retry(err, 5*time.Second)
}

// remind sends the reminder at ref.Offset to every confirmed attendee not
// yet reminded at it: direct sends one by one, the rest as mass sends in
// lists of up to 10,000.
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
	k := keysFor(ref.Account, ev.ID)
	members, err := s.Confirmed(ctx, ref.Account, ev.ID)
	if err != nil {
		return err
	}
	text := s.reminderText(ev)
	var mass []string
	for _, o := range members {
		if ok, err := s.rdb.SAdd(ctx, k.reminded(ref.Offset), o).Result(); err != nil {
			return err
		} else if ok == 0 {
			continue
		}
		ch, err := s.sendDirect(ctx, ref.Account, ev, o, text, "rem-"+ref.Offset+"-"+o, false)
		switch {
		case err != nil:
			s.rdb.SRem(ctx, k.reminded(ref.Offset), o)
			return err
		case ch == plan.ChannelMass:
			mass = append(mass, o)
		case ch == plan.ChannelNone:
			s.rdb.SRem(ctx, k.reminded(ref.Offset), o)
			s.rdb.HIncrBy(ctx, k.reasons(), "reminder_unreachable", 1)
		}
	}
	return s.remindMass(ctx, ref, ev, text, mass)
}

// remindMass sends the reminder to the subscribers only a mass send
// reaches. The clientmsgid is derived from the batch, so a rerun is
// deduplicated by WeChat itself (45065).
func (s *Service) remindMass(ctx context.Context, ref jobRef, ev content.Event, text string, openIDs []string) error {
	k := keysFor(ref.Account, ev.ID)
	release := func(ids []string) {
		if len(ids) > 0 {
			s.rdb.SRem(ctx, k.reminded(ref.Offset), toAny(ids)...)
		}
	}
	if len(openIDs) < wechat.MassMinOpenIDs {
		release(openIDs)
		if len(openIDs) > 0 {
			s.rdb.HIncrBy(ctx, k.reasons(), "reminder_unreachable", int64(len(openIDs)))
		}
		return nil
	}
	sender, err := s.cfg.Sender(ref.Account)
	if err != nil {
		release(openIDs)
		return nil
	}
	month := plan.MonthNumber(s.cfg.Now(), s.cfg.Loc)
	for start := 0; start < len(openIDs); start += wechat.MassMaxOpenIDs {
		batch := openIDs[start:min(start+wechat.MassMaxOpenIDs, len(openIDs))]
		if len(batch) < wechat.MassMinOpenIDs {
			release(batch)
			continue
		}
		_, err := sender.MassSendToOpenIDs(ctx, batch, wechat.MassMessage{Text: text},
			clientMsgID(ref.Account, ev.ID, "rem-"+ref.Offset+"-"+strings.Join(batch, ",")))
		if err := sendError(err); err != nil {
			release(openIDs[start:])
			return err
		}
		if err := s.cfg.Profiles.SpendMany(ctx, ref.Account, batch, profile.SpendMass, month); err != nil {
			return err
		}
	}
	return nil
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
