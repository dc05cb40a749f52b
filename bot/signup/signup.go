// Package signup runs events in the chat: notices to an event's audience,
// sign-up (报名 <code>) with a capacity enforced atomically and a waiting
// list, cancellation (取消报名 <code>) that promotes the first wait-listed
// subscriber, 我的活动, reminders at the event's offsets, check-in by the
// event's parametric QR code, a one-question feedback survey after the
// event, statistics and the cloning of an event to a new year.
//
// Sign-ups live in Redis next to each other under the event's hash tag
// (keys.go); each chat operation is one Lua script (scripts/), so 500
// people signing up at once for 100 places get exactly 100 places. Chat
// handlers run again when the webhook retries a commit, so every script
// keys its result by the message (the op id) and answers a rerun with the
// first result.
//
// Handlers never call WeChat: what has to be sent later (a promotion
// notice, reminders, the feedback question) is a job on the delivery queue
// (jobs.go). Jobs run at least once; a set member per recipient and notice
// makes each send happen once, and the channel is chosen when the job runs
// (plan.Choose with plan.KindNotice): a customer-service message while the
// subscriber's window is open, a template message where one is configured,
// and, for reminders to many, a mass send.
package signup

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

var (
	//go:embed scripts/signup.lua
	signupLua string
	//go:embed scripts/cancel.lua
	cancelLua string
	//go:embed scripts/attend.lua
	attendLua string

	signupScript = redis.NewScript(signupLua)
	cancelScript = redis.NewScript(cancelLua)
	attendScript = redis.NewScript(attendLua)
)

// Sender sends through WeChat (*wechat.Client); see notify.Sender.
type Sender = notify.Sender

// Config is what the service needs. Redis, Events, Profiles and Queue are
// required; the rest may be nil or zero.
type Config struct {
	Redis    redis.UniversalClient
	Events   *content.Store
	Profiles *profile.Store
	Scenes   *qrcode.Store
	Tax      *taxonomy.Taxonomy // resolves an audience's group; nil: ids only
	// Queue returns an account's delivery queue.
	Queue func(account string) *queue.Queue
	// Notifier sends (the app's one sender). When nil, the service makes
	// one from Sender and Limiter.
	Notifier *notify.Notifier
	// Sender returns the WeChat sender of an account.
	Sender  func(account string) (Sender, error)
	Limiter *queue.Limiter
	// Rules returns an account's channel rules (plan.Rules.Loc unused: Loc is).
	Rules func(account string) plan.Rules
	// Template is the template id of service notices ("" = none).
	Template string
	// Campaigns and Engine, when set, let notices be campaigns and
	// statistics count the invited.
	Campaigns *campaign.Store
	Engine    *campaign.Engine
	// FeedbackAfter is how long after an event ends the feedback question
	// goes out (default 30 minutes).
	FeedbackAfter time.Duration
	// Loc is the district's time zone (default Asia/Shanghai, whatever the
	// process's TZ).
	Loc    *time.Location
	Now    func() time.Time
	Logger *slog.Logger
}

// Service runs sign-ups, reminders and check-ins. It is safe for
// concurrent use.
type Service struct {
	cfg    Config
	rdb    redis.UniversalClient
	log    *slog.Logger
	notify *notify.Notifier
}

// Shanghai returns the Asia/Shanghai zone, or a fixed UTC+8 zone (China has
// no daylight saving) where the system has no zone database.
func Shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("Asia/Shanghai", 8*3600)
}

// New returns a service, or an error naming a missing dependency.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Redis == nil:
		return nil, errors.New("signup: no redis client")
	case cfg.Events == nil:
		return nil, errors.New("signup: no event store")
	case cfg.Profiles == nil:
		return nil, errors.New("signup: no profile store")
	case cfg.Queue == nil:
		return nil, errors.New("signup: no queue")
	}
	if cfg.Loc == nil {
		cfg.Loc = Shanghai()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FeedbackAfter == 0 {
		cfg.FeedbackAfter = 30 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rules == nil {
		cfg.Rules = func(string) plan.Rules { return plan.Rules{AccountType: plan.ServiceAccount} }
	}
	n := cfg.Notifier
	if n == nil {
		var err error
		if n, err = notify.New(notify.Config{Redis: cfg.Redis, Profiles: cfg.Profiles, Sender: cfg.Sender, Limiter: cfg.Limiter,
			Loc: cfg.Loc, Now: cfg.Now, Logger: cfg.Logger}); err != nil {
			return nil, err
		}
	}
	return &Service{cfg: cfg, rdb: cfg.Redis, log: cfg.Logger.With("component", "signup"), notify: n}, nil
}

// Status is where a subscriber stands for an event.
type Status int

// Sign-up states.
const (
	NotSignedUp Status = iota
	Confirmed
	Waitlisted
)

// Errors callers branch on.
var (
	// ErrClosed: the event is not open for sign-up (not published, not
	// yet open, closed or over).
	ErrClosed = errors.New("event not open for sign-up")
	// ErrNotFound: no published event has the code or id.
	ErrNotFound = errors.New("event not found")
)

// Result is the outcome of a sign-up.
type Result struct {
	Status Status
	// Position is the place on the waiting list (1 = next), 0 when confirmed.
	Position int
}

// SignUp signs openID up for ev: confirmed while places are left, else
// wait-listed. It is idempotent per openid, and per op: a rerun with the
// same op returns the first result. who describes the subscriber for
// statistics ("<group>|<town>").
func (s *Service) SignUp(ctx context.Context, account string, ev content.Event, openID, op, who string) (Result, error) {
	if err := s.open(ev); err != nil {
		return Result{}, err
	}
	k := keysFor(account, ev.ID)
	res, err := signupScript.Run(ctx, s.rdb, []string{k.confirmed(), k.waitlist(), k.seq(), k.op(op), k.who()},
		openID, ev.Capacity, opTTL.Milliseconds(), who).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("sign up for %s: %w", ev.ID, err)
	}
	return Result{Status: Status(res[0]), Position: int(res[1])}, nil
}

// open checks that ev takes sign-ups now.
func (s *Service) open(ev content.Event) error {
	now := s.cfg.Now()
	closes := ev.SignupCloses
	if closes.IsZero() {
		closes = ev.StartsAt
	}
	switch {
	case ev.Status != content.StatusPublished:
		return ErrClosed
	case !ev.SignupOpens.IsZero() && now.Before(ev.SignupOpens):
		return ErrClosed
	case !closes.IsZero() && !now.Before(closes):
		return ErrClosed
	}
	return nil
}

// Cancellation is the outcome of a cancellation.
type Cancellation struct {
	// Was is the status before: NotSignedUp when there was nothing to cancel.
	Was Status
	// Promoted is the openid moved from the waiting list into the freed
	// place, or "".
	Promoted string
}

// Cancel cancels openID's sign-up for ev. A freed place goes to the first
// wait-listed subscriber, who is told by a queued notice. A rerun with the
// same op returns the first result (and queues the same, idempotent notice).
func (s *Service) Cancel(ctx context.Context, account string, ev content.Event, openID, op string) (Cancellation, error) {
	k := keysFor(account, ev.ID)
	res, err := cancelScript.Run(ctx, s.rdb, []string{k.confirmed(), k.waitlist(), k.op(op)},
		openID, ev.Capacity, opTTL.Milliseconds()).Slice()
	if err != nil {
		return Cancellation{}, fmt.Errorf("cancel sign-up for %s: %w", ev.ID, err)
	}
	st, _ := res[0].(int64)
	who, _ := res[1].(string)
	c := Cancellation{Was: Status(st), Promoted: who}
	if who != "" {
		if err := s.enqueuePromoted(ctx, account, ev.ID, who, op); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Attend records that openID checked in at ev, once. It reports whether
// this was the first check-in, and schedules the feedback question.
func (s *Service) Attend(ctx context.Context, account string, ev content.Event, openID, who string) (bool, error) {
	k := keysFor(account, ev.ID)
	n, err := attendScript.Run(ctx, s.rdb, []string{k.attended(), k.who()}, openID, s.cfg.Now().UnixMilli(), who).Int()
	if err != nil {
		return false, fmt.Errorf("check in at %s: %w", ev.ID, err)
	}
	// Also on a repeat: the first run may have died before enqueueing.
	if err := s.enqueueFeedback(ctx, account, ev, openID); err != nil {
		return n == 1, err
	}
	return n == 1, nil
}

// StatusOf returns openID's standing for event id and whether they checked in.
func (s *Service) StatusOf(ctx context.Context, account, id, openID string) (Status, bool, error) {
	k := keysFor(account, id)
	var conf, wait, att *redis.FloatCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		conf = p.ZScore(ctx, k.confirmed(), openID)
		wait = p.ZScore(ctx, k.waitlist(), openID)
		att = p.ZScore(ctx, k.attended(), openID)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, false, fmt.Errorf("sign-up status at %s: %w", id, err)
	}
	st := NotSignedUp
	switch {
	case conf.Err() == nil:
		st = Confirmed
	case wait.Err() == nil:
		st = Waitlisted
	}
	return st, att.Err() == nil, nil
}

// Summary is an event's sign-up counts (the contract of GET
// /api/v1/events/{id}: id, code, capacity, confirmed, waitlisted, attended).
type Summary struct {
	ID         string `json:"id"`
	Code       string `json:"code"`
	Capacity   int    `json:"capacity"`
	Confirmed  int64  `json:"confirmed"`
	Waitlisted int64  `json:"waitlisted"`
	Attended   int64  `json:"attended"`
}

// Summary counts event id's sign-ups, in one round trip after loading it.
func (s *Service) Summary(ctx context.Context, account, id string) (Summary, error) {
	ev, err := s.event(ctx, account, id)
	if err != nil {
		return Summary{}, err
	}
	return s.summary(ctx, account, ev)
}

func (s *Service) summary(ctx context.Context, account string, ev content.Event) (Summary, error) {
	k := keysFor(account, ev.ID)
	var conf, wait, att *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		conf, wait, att = p.ZCard(ctx, k.confirmed()), p.ZCard(ctx, k.waitlist()), p.ZCard(ctx, k.attended())
		return nil
	})
	if err != nil {
		return Summary{}, fmt.Errorf("count sign-ups of %s: %w", ev.ID, err)
	}
	return Summary{ID: ev.ID, Code: ev.Code, Capacity: ev.Capacity,
		Confirmed: conf.Val(), Waitlisted: wait.Val(), Attended: att.Val()}, nil
}

// Confirmed lists the confirmed openids of event id in sign-up order.
func (s *Service) Confirmed(ctx context.Context, account, id string) ([]string, error) {
	return s.rdb.ZRange(ctx, keysFor(account, id).confirmed(), 0, -1).Result()
}

// Waitlist lists the wait-listed openids of event id, first in line first.
func (s *Service) Waitlist(ctx context.Context, account, id string) ([]string, error) {
	return s.rdb.ZRange(ctx, keysFor(account, id).waitlist(), 0, -1).Result()
}

// event loads event id, mapping the library's not-found to ErrNotFound.
func (s *Service) event(ctx context.Context, account, id string) (content.Event, error) {
	ev, err := s.cfg.Events.Event(ctx, account, id)
	if errors.Is(err, content.ErrNotFound) {
		return content.Event{}, fmt.Errorf("event %s: %w", id, ErrNotFound)
	}
	return ev, err
}

// ByCode loads the event whose sign-up code is code.
func (s *Service) ByCode(ctx context.Context, account, code string) (content.Event, error) {
	id, err := s.cfg.Events.ByCode(ctx, account, code)
	if errors.Is(err, content.ErrNotFound) {
		return content.Event{}, fmt.Errorf("code %q: %w", code, ErrNotFound)
	}
	if err != nil {
		return content.Event{}, err
	}
	return s.event(ctx, account, id)
}

// Erase forgets openID in every event (bot.Eraser).
func (s *Service) Erase(ctx context.Context, account, openID string) error {
	evs, err := s.recentEvents(ctx, account, time.Time{})
	if err != nil {
		return err
	}
	for _, ev := range evs {
		// Leave as a cancellation does, so a confirmed place goes to the
		// first on the waiting list, who is told.
		if _, err := s.Cancel(ctx, account, ev, openID, profile.Pseudonym(openID)+":erase:"+itoa(s.cfg.Now().UnixNano())); err != nil {
			return fmt.Errorf("erase sign-ups: %w", err)
		}
		k := keysFor(account, ev.ID)
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZRem(ctx, k.confirmed(), openID)
			p.ZRem(ctx, k.waitlist(), openID)
			p.ZRem(ctx, k.attended(), openID)
			p.HDel(ctx, k.who(), openID)
			p.HDel(ctx, k.feedback(), openID)
			p.SRem(ctx, k.asked(), openID)
			return nil
		})
		if err != nil {
			return fmt.Errorf("erase sign-ups: %w", err)
		}
	}
	return nil
}

// recentEvents lists published events that ended after since (all when zero).
func (s *Service) recentEvents(ctx context.Context, account string, since time.Time) ([]content.Event, error) {
	evs, _, err := s.cfg.Events.Events(ctx, account, content.StatusPublished, 0, 1000)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	out := evs[:0]
	for _, ev := range evs {
		if since.IsZero() || ev.EndsAt.After(since) {
			out = append(out, ev)
		}
	}
	return out, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
