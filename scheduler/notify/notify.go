package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// Sender is WeChat's send API as notify uses it (*wechat.Client).
type Sender interface {
	SendNews(ctx context.Context, openID string, a wechat.Article) error
	SendText(ctx context.Context, openID, text string) error
	SendTemplate(ctx context.Context, m wechat.TemplateMessage) (int64, error)
	MassSendToOpenIDs(ctx context.Context, openIDs []string, m wechat.MassMessage, clientMsgID string) (wechat.MassResult, error)
	MassSendToTag(ctx context.Context, tagID int, m wechat.MassMessage, clientMsgID string) (wechat.MassResult, error)
	MassSendToAll(ctx context.Context, m wechat.MassMessage, clientMsgID string) (wechat.MassResult, error)
}

// ErrNotConfigured is what Config.Sender returns for an account without
// WeChat API credentials: its messages fail as "wechat_not_configured".
var ErrNotConfigured = errors.New("wechat not configured")

// ReasonNotConfigured is the failure reason of a message whose account has
// no WeChat API credentials.
const ReasonNotConfigured = "wechat_not_configured"

// Config is what a Notifier needs. Redis and Profiles are required.
type Config struct {
	Redis    redis.UniversalClient
	Profiles *profile.Store
	// Sender returns an account's WeChat sender, or an error wrapping
	// ErrNotConfigured (nil: no account is configured).
	Sender func(account string) (Sender, error)
	// Groups returns the follower groups of an account that one sendall
	// call reaches (Everyone, synced tags); MassAll sends to a group in one
	// call when every member waits for that mass send (see Group). nil:
	// mass sends go by openid lists only.
	Groups func(ctx context.Context, account string) ([]Group, error)
	// Limiter shares WeChat's call rates across replicas (nil: no limit).
	Limiter *queue.Limiter
	// Limits per API; zero fields take DefaultLimits.
	Limits Limits
	// Senders is how many messages of one batch are in flight at once (a
	// wave): the most a crash can leave in doubt per running batch.
	Senders int
	// Lease is how long a batch's lease lives without renewal; a run
	// renews it with every wave.
	Lease time.Duration
	// Backoff is the first pause after a retryable answer, doubled up to
	// MaxBackoff; after Attempts failing waves in a row the batch yields
	// (queue.Later) and its job runs again later.
	Backoff, MaxBackoff time.Duration
	Attempts            int
	// Slowdown is the least pause after WeChat's frequency limit (45009,
	// 45011): back off, don't hammer. Default 1 s.
	Slowdown time.Duration
	Loc      *time.Location
	Now      func() time.Time
	Logger   *slog.Logger
}

// Limits are the shared call rates of WeChat's send APIs, per account.
type Limits struct {
	Custom, Template queue.Limit
	// MassPerMinute and MassPerDay bound mass-send calls (60/min, 100/day;
	// a subscription account: 1/day).
	MassPerMinute, MassPerDay queue.Limit
	// Upload bounds temporary media uploads (voice recordings): few are
	// needed (one per recording every three days), so a fault that
	// uploads in a loop cannot spend the account's daily API quota.
	Upload queue.Limit
}

// DefaultLimits are WeChat's documented limits, kept with a margin.
var DefaultLimits = Limits{
	Custom:        queue.Limit{Rate: 100, Per: time.Second, Burst: 100},
	Template:      queue.Limit{Rate: 50, Per: time.Second, Burst: 50},
	MassPerMinute: queue.Limit{Rate: 60, Per: time.Minute, Burst: 60},
	MassPerDay:    queue.Limit{Rate: 100, Per: 24 * time.Hour, Burst: 100},
	Upload:        queue.Limit{Rate: 20, Per: time.Minute, Burst: 5},
}

// Notifier sends messages and keeps their states. It is safe for
// concurrent use.
type Notifier struct {
	cfg     Config
	log     *slog.Logger
	journal journal
}

// New returns a notifier.
func New(cfg Config) (*Notifier, error) {
	if cfg.Redis == nil || cfg.Profiles == nil {
		return nil, errors.New("notify: Redis and Profiles are required")
	}
	if cfg.Sender == nil {
		cfg.Sender = func(string) (Sender, error) { return nil, ErrNotConfigured }
	}
	if cfg.Limits.Custom.Rate == 0 {
		cfg.Limits.Custom = DefaultLimits.Custom
	}
	if cfg.Limits.Template.Rate == 0 {
		cfg.Limits.Template = DefaultLimits.Template
	}
	if cfg.Limits.MassPerMinute.Rate == 0 {
		cfg.Limits.MassPerMinute = DefaultLimits.MassPerMinute
	}
	if cfg.Limits.Upload.Rate == 0 {
		cfg.Limits.Upload = DefaultLimits.Upload
	}
	if cfg.Limits.MassPerDay.Rate == 0 {
		cfg.Limits.MassPerDay = DefaultLimits.MassPerDay
	}
	if cfg.Senders <= 0 {
		cfg.Senders = 16
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 6
	}
	if cfg.Slowdown <= 0 {
		cfg.Slowdown = time.Second
	}
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{cfg: cfg, log: cfg.Logger.With("component", "notify"), journal: journal{now: time.Now}}, nil
}

// Senders is the wave size: the most messages of one batch in flight.
func (n *Notifier) Senders() int { return n.cfg.Senders }

// Configured reports whether account can send through WeChat.
func (n *Notifier) Configured(account string) bool {
	_, err := n.cfg.Sender(account)
	return err == nil
}

// Message is what one send carries: a news card or a text through the
// customer-service API, or a template message.
type Message struct {
	Article  *wechat.Article
	Text     string
	Template *wechat.TemplateMessage // ToUser is filled in
	// Voice is a media_id (VoiceMediaID) sent as a customer-service voice
	// message after the text or article went through (elder mode);
	// VoiceKey is the recording's key, to forget an expired media_id.
	Voice, VoiceKey string
}

// Send is one message to send directly (customer-service or template).
type Send struct {
	Member  profile.Member
	Channel plan.Channel // ChannelCustom or ChannelTemplate
	Window  plan.Window  // the customer-service window it spends
	Item    string       // the item it carries ("" none): marked received
	// Topics are the item's topics: once sent, the subscriber's learned
	// interest in them drops a little (profile.SeenDrop), a soft negative
	// that a click on the item more than undoes.
	Topics []string
	// Fallback is the item of a mass send to wait for when WeChat says the
	// window is closed after all ("" = none: the message is unreachable).
	Fallback string
	Message  Message
}

// Lease is one run's hold on a batch of one shard: while it holds it, no
// other run sends that batch's messages.
type Lease struct {
	n     *Notifier
	sc    Scope
	shard int
	name  string
	owner string
	// released: Deliver gave the lease up with its last write.
	released bool
}

// Acquire takes the lease name of scope's shard, or returns ErrLeaseLost
// when another live run holds it (the caller retries later).
func (n *Notifier) Acquire(ctx context.Context, sc Scope, shard int, name string) (*Lease, error) {
	b := make([]byte, 12)
	rand.Read(b)
	l := &Lease{n: n, sc: sc, shard: shard, name: name, owner: hex.EncodeToString(b)}
	if err := n.apply(ctx, sc, shard, name, l.owner, n.cfg.Lease, &changes{take: true}); err != nil {
		return nil, err
	}
	return l, nil
}

// Release gives the lease up (safe to call after a failed run, and after
// a Deliver that finished: then it costs nothing).
func (l *Lease) Release(ctx context.Context) error {
	if l.released {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := l.n.apply(ctx, l.sc, l.shard, l.name, l.owner, 0, &changes{})
	if errors.Is(err, ErrLeaseLost) {
		return nil
	}
	return err
}

// Deliver records decided outcomes and sends sends, all of the lease's
// shard, wave by wave (see the package comment). It returns nil when every
// message has an outcome or waits for a mass send, and then has released
// the lease with its last write (the batch has nothing left to send); a
// queue.Later error when
// WeChat keeps answering "try again" (what was settled stays settled, the
// rest stays pending for the job's next run); ErrLeaseLost when another
// run took the batch over; or a Redis error.
func (l *Lease) Deliver(ctx context.Context, decided Decided, sends []Send) error {
	n := l.n
	now := n.cfg.Now()
	o := newOutcomes(l.sc, l.shard, now, n.cfg.Loc)
	decided.into(o)
	var sender Sender
	if len(sends) > 0 {
		var err error
		if sender, err = n.cfg.Sender(l.sc.Account); err != nil {
			for _, s := range sends {
				o.failed[ReasonNotConfigured] = append(o.failed[ReasonNotConfigured], s.Member.ID.Local)
			}
			sends = nil
		}
	}
	pending := sends
	tok := &tokens{}
	for _, s := range sends {
		if s.Channel == plan.ChannelTemplate {
			tok.templateLeft++
		} else {
			tok.customLeft++
		}
	}
	failing := 0
	backoff := n.cfg.Backoff
	for {
		wave := pending[:min(n.cfg.Senders, len(pending))]
		pending = pending[len(wave):]
		// The rate limit first, so no claim waits on it.
		if err := n.reserve(ctx, l.sc.Account, wave, tok); err != nil {
			if serr := n.settle(ctx, l, o); serr != nil {
				return serr
			}
			if ctx.Err() != nil {
				return queue.Later(err, time.Second) // stopping: the rest waits
			}
			return err
		}
		// Settle the last wave and claim this one in one round trip; with
		// nothing left to send, settle and release.
		var c changes
		o.changes(&c)
		l.claim(&c, wave)
		hold := n.cfg.Lease
		if len(wave) == 0 {
			hold = 0
		}
		if err := n.apply(ctx, l.sc, l.shard, l.name, l.owner, hold, &c); err != nil {
			return err
		}
		if len(wave) == 0 {
			l.released = true
			return nil
		}
		o = newOutcomes(l.sc, l.shard, n.cfg.Now(), n.cfg.Loc)
		retry, lastErr := n.sendWave(ctx, l.sc.Account, sender, wave, o)
		if len(retry) == 0 {
			failing, backoff = 0, n.cfg.Backoff
			continue
		}
		// WeChat asked to try again (or this process is stopping): those
		// messages go back to pending, first in line. A wave that sent
		// something made progress: only waves that sent nothing count
		// towards yielding, and only they double the pause.
		limited := wechat.Classify(lastErr) == wechat.RateLimited
		if len(retry) < len(wave) && !limited {
			// Progress: try those again after the rest, no pause.
			failing, backoff = 0, n.cfg.Backoff
			pending = append(pending, retry...)
			continue
		}
		pending = append(retry, pending...)
		failing++
		if failing >= n.cfg.Attempts || ctx.Err() != nil {
			if err := n.settle(ctx, l, o); err != nil {
				return err
			}
			return queue.Later(fmt.Errorf("%d messages wait for WeChat: %w", len(pending), lastErr), backoff)
		}
		if limited {
			backoff = max(backoff, n.cfg.Slowdown) // 45009: back off, don't hammer
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		backoff = min(2*backoff, n.cfg.MaxBackoff)
	}
}

// settle writes outcomes o under the lease (context-free: it runs on
// shutdown too).
func (n *Notifier) settle(ctx context.Context, l *Lease, o *outcomes) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var c changes
	o.changes(&c)
	return n.apply(sctx, l.sc, l.shard, l.name, l.owner, n.cfg.Lease, &c)
}

// claim adds the in-flight bits of a wave to c, counting the in-doubt
// messages sent again by channel.
func (l *Lease) claim(c *changes, wave []Send) {
	key := profile.IndexKey(l.sc.Account, l.shard, l.sc.FlightIndex())
	var custom, templ []int64
	for _, s := range wave {
		if s.Channel == plan.ChannelTemplate {
			templ = append(templ, s.Member.ID.Local)
		} else {
			custom = append(custom, s.Member.ID.Local)
		}
	}
	// "old" counts ids already in flight: in doubt, sent once more.
	c.add(group{key: key, bit: 1, ttl: l.sc.TTL, reason: ReasonInDoubtResent, old: true, lids: custom})
	c.add(group{key: key, bit: 1, ttl: l.sc.TTL, reason: ReasonInDoubtRekeyed, old: true, lids: templ})
}

// reserve takes the wave's tokens of the shared rate limits.
func (n *Notifier) reserve(ctx context.Context, account string, wave []Send, tok *tokens) error {
	var custom, templ int
	for _, s := range wave {
		switch {
		case s.Channel == plan.ChannelTemplate:
			templ++
		case s.Message.Voice != "":
			custom += 2 // the text and its voice message: two calls
		default:
			custom++
		}
	}
	err := tok.take(ctx, n, "custom:"+account, n.cfg.Limits.Custom, custom, &tok.custom, tok.customLeft)
	if err == nil {
		err = tok.take(ctx, n, "template:"+account, n.cfg.Limits.Template, templ, &tok.template, tok.templateLeft)
	}
	tok.customLeft -= custom
	tok.templateLeft -= templ
	return err
}

// sendWave sends a wave in parallel and files each answer in o. It returns
// the messages to try again and the last retryable error.
func (n *Notifier) sendWave(ctx context.Context, account string, sender Sender, wave []Send, o *outcomes) ([]Send, error) {
	errs := make([]error, len(wave))
	voiced := make([]bool, len(wave))
	var wg sync.WaitGroup
	for i := range wave {
		wg.Go(func() {
			if errs[i] = send(ctx, sender, wave[i]); errs[i] == nil {
				voiced[i] = n.sendVoice(ctx, account, sender, wave[i])
			}
		})
	}
	wg.Wait()
	var retry []Send
	var last error
	for i, s := range wave {
		if voiced[i] { // a second customer-service message of the window
			if s.Window == plan.WindowEvent {
				o.spendEvt = append(o.spendEvt, s.Member.OpenID)
			} else {
				o.spendMsg = append(o.spendMsg, s.Member.OpenID)
			}
		}
		if n.file(ctx, account, s, errs[i], o) {
			retry = append(retry, s)
			last = errs[i]
		}
	}
	return retry, last
}

func send(ctx context.Context, sender Sender, s Send) error {
	m := s.Message
	switch {
	case s.Channel == plan.ChannelTemplate && m.Template != nil:
		t := *m.Template
		t.ToUser = s.Member.OpenID
		_, err := sender.SendTemplate(ctx, t)
		return err
	case s.Channel == plan.ChannelCustom && m.Article != nil:
		return sender.SendNews(ctx, s.Member.OpenID, *m.Article)
	case s.Channel == plan.ChannelCustom && m.Text != "":
		return sender.SendText(ctx, s.Member.OpenID, m.Text)
	}
	return fmt.Errorf("notify: nothing to send through %v", s.Channel)
}

// file records one answer in o and reports whether to try again.
func (n *Notifier) file(ctx context.Context, account string, s Send, err error, o *outcomes) (again bool) {
	lid := s.Member.ID.Local
	ch := s.Channel.String()
	if err != nil && ctx.Err() != nil {
		o.unclaim = append(o.unclaim, lid) // shutting down: not an answer
		return true
	}
	switch wechat.Classify(err) {
	case wechat.OK, wechat.Duplicate:
		o.sent[ch] = append(o.sent[ch], lid)
		if s.Item != "" {
			o.received[s.Item] = append(o.received[s.Item], lid)
		}
		if s.Channel == plan.ChannelCustom {
			if len(s.Topics) > 0 {
				if o.seen == nil {
					o.seen = map[string][]string{}
				}
				o.seen[s.Member.OpenID] = s.Topics
			}
			if s.Window == plan.WindowEvent {
				o.spendEvt = append(o.spendEvt, s.Member.OpenID)
			} else {
				o.spendMsg = append(o.spendMsg, s.Member.OpenID)
			}
		}
	case wechat.WindowClosed, wechat.QuotaUsed:
		// Our record of the window was stale.
		if s.Fallback != "" {
			o.mass[s.Fallback] = append(o.mass[s.Fallback], lid)
		} else {
			o.skipped["window_closed"] = append(o.skipped["window_closed"], lid)
		}
	case wechat.Unfollowed:
		o.failed["unfollowed"] = append(o.failed["unfollowed"], lid)
		n.cfg.Profiles.Update(ctx, account, s.Member.OpenID, func(p *profile.Profile) (*profile.Profile, error) {
			if p != nil {
				p.Subscribed = false
			}
			return p, nil
		})
	case wechat.Retry, wechat.RateLimited, wechat.TokenInvalid:
		o.unclaim = append(o.unclaim, lid)
		return true
	default:
		code, _ := wechat.Code(err)
		r := fmt.Sprintf("wechat_%d", code)
		o.failed[r] = append(o.failed[r], lid)
	}
	return false
}

// tokens is what a batch took of the shared rate limits and has not used
// yet: it takes them for several waves at once (up to the limit's burst),
// so the limiter costs a round trip per burst, not per wave.
type tokens struct {
	custom, template         int // taken, unused
	customLeft, templateLeft int // messages of the batch still to send
}

// take makes sure *have covers need tokens of key, taking up to what the
// rest of the batch (left) needs in one call.
func (t *tokens) take(ctx context.Context, n *Notifier, key string, limit queue.Limit, need int, have *int, left int) error {
	if need <= *have {
		*have -= need
		return nil
	}
	want := min(max(need, left), max(limit.Burst, 1)) - *have
	want = max(want, need-*have)
	if err := n.wait(ctx, key, limit, want); err != nil {
		return err
	}
	*have += want - need
	return nil
}

// wait takes k tokens of the shared rate limit of key (in bursts the limit
// allows). A limit that would hold the worker for long becomes a
// queue.Later, so the worker serves other jobs meanwhile.
func (n *Notifier) wait(ctx context.Context, key string, limit queue.Limit, k int) error {
	if n.cfg.Limiter == nil || k == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for k > 0 {
		step := min(k, max(limit.Burst, 1))
		err := n.cfg.Limiter.WaitN(wctx, "wechat:"+key, limit, step)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return queue.Later(fmt.Errorf("rate limit %s", key), 10*time.Minute)
		}
		if err != nil {
			return err
		}
		k -= step
	}
	return nil
}
