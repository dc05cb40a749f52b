package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/calendar"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// Job kinds the engine handles (Engine.Handle).
const (
	JobStart    = "campaign.start"
	JobChunk    = "campaign.chunk"
	JobFinalize = "campaign.finalize"
)

// chunkSize is how many local ids one chunk job covers (a multiple of 8).
// A chunk's fixed cost is about ten round trips (the campaign, its rules,
// the lease, the view, the records); 4,096 ids a chunk made one item to
// everyone 1.3-1.4x faster than 1,024 at 1.5 M subscribers (BENCHMARKS.md,
// bulk delivery), and the per-message path did not slow down; 8,192 gave
// little more and holds Redis longer per profile read.
const chunkSize = 4096

// Items is the content library as the engine needs it.
type Items interface {
	Item(ctx context.Context, account, id string) (*content.Item, error)
	// Deliverable lists the published items valid at t.
	Deliverable(ctx context.Context, account string, t time.Time) ([]*content.Item, error)
}

// Sender sends through WeChat (*wechat.Client); see notify.Sender.
type Sender = notify.Sender

// Compiler turns an audience expression into a profile program.
type Compiler func(expr string, now time.Time) (profile.Program, error)

// Config is what the engine needs; every field is required unless noted.
type Config struct {
	Store    *Store
	Profiles *profile.Store
	Items    Items
	// Queue returns an account's job queue.
	Queue func(account string) *queue.Queue
	// Notifier sends. When nil, the engine makes one from Sender and
	// Limiter (the app shares one notifier between every sender).
	Notifier *notify.Notifier
	Limiter  *queue.Limiter // nil: no shared rate limit (tests)
	// Sender returns the WeChat sender of an account.
	Sender func(account string) (Sender, error)
	// Groups is the made notifier's notify.Config.Groups (nil: mass sends
	// by openid lists only).
	Groups   func(ctx context.Context, account string) ([]notify.Group, error)
	Compile  Compiler
	Rules    func(account string) plan.Rules
	Quiet    plan.QuietHours
	Caps     plan.Caps
	Links    *Links
	Template string // template id for notices ("" = none configured)
	// Calendar is the account's shared mass-send calendar: a mass send
	// uses the campaign's booking, or only budget no booking holds
	// (rules.massAllowed). Nil: no bookings, WeChat's limit only.
	Calendar *calendar.Service
	// Audio returns an item's voice recording (content.ErrNotFound: none),
	// sent to elder-mode subscribers after the short text. Nil: no voice.
	Audio  func(ctx context.Context, account, itemID string) (content.Audio, error)
	Loc    *time.Location
	Now    func() time.Time
	Logger *slog.Logger
}

// Engine runs campaigns. It is safe for concurrent use by many workers.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	notify *notify.Notifier

	mu      sync.Mutex
	pickers map[string]cachedPicker // by account
}

type cachedPicker struct {
	at     time.Time
	items  []*content.Item
	picker *plan.Picker
}

// New returns an engine.
func New(cfg Config) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := cfg.Notifier
	if n == nil {
		var err error
		n, err = notify.New(notify.Config{Redis: cfg.Store.rdb, Profiles: cfg.Profiles, Sender: cfg.Sender, Limiter: cfg.Limiter,
			Groups: cfg.Groups, Loc: cfg.Loc, Now: cfg.Now, Logger: cfg.Logger})
		if err != nil {
			panic(err) // only a nil Store or Profiles, which no caller passes
		}
	}
	return &Engine{cfg: cfg, log: cfg.Logger.With("component", "campaign"), notify: n, pickers: map[string]cachedPicker{}}
}

// scope is a campaign's per-message states (notify keeps them).
func scope(c *Campaign) notify.Scope {
	return notify.Scope{Account: c.Account, Name: "c:" + c.ID, TTL: keepFor}
}

// keepFor is how long a campaign's recipient bitmaps are kept.
const keepFor = 90 * 24 * time.Hour

type jobRef struct {
	Account string `json:"a"`
	ID      string `json:"c"`
	Shard   int    `json:"s,omitempty"`
	From    int64  `json:"f,omitempty"`
	Phase   int    `json:"p,omitempty"` // 1: a variant campaign's winner phase
}

// Enqueue schedules the start of c: now, or at its SendAt. It is safe to
// call twice: the start job is enqueued once.
func (e *Engine) Enqueue(ctx context.Context, c *Campaign) error {
	b, _ := json.Marshal(jobRef{Account: c.Account, ID: c.ID})
	j := queue.Job{ID: c.Account + ":" + c.ID + ":start", Kind: JobStart, Lane: queue.LaneBulk, Payload: b}
	if c.SendAt != nil && c.SendAt.After(e.cfg.Now()) {
		return e.cfg.Queue(c.Account).EnqueueAt(ctx, *c.SendAt, j)
	}
	_, err := e.cfg.Queue(c.Account).EnqueueOnce(ctx, j, keepFor)
	return err
}

// Handle implements queue.Handler for the engine's jobs.
func (e *Engine) Handle(ctx context.Context, j queue.Job) error {
	var ref jobRef
	if err := json.Unmarshal(j.Payload, &ref); err != nil {
		return queue.Permanent(fmt.Errorf("campaign job %s: %w", j.ID, err))
	}
	switch j.Kind {
	case JobStart:
		return e.start(ctx, ref)
	case JobChunk:
		return e.chunk(ctx, ref)
	case JobFinalize:
		return e.finalize(ctx, ref)
	case JobWinner:
		return e.winner(ctx, ref)
	}
	return queue.Permanent(fmt.Errorf("unknown job kind %q", j.Kind))
}

// start moves the campaign to running, snapshots its audience and
// enqueues its chunks. Every step is safe to repeat.
func (e *Engine) start(ctx context.Context, ref jobRef) error {
	now := e.cfg.Now()
	c, err := e.cfg.Store.Update(ctx, ref.Account, ref.ID, func(c *Campaign) error {
		if c.Status == StatusRunning {
			return nil // started already: this is a rerun
		}
		return c.apply(ActStart, now)
	})
	if errors.Is(err, ErrBadTransition) || errors.Is(err, ErrNotFound) {
		return nil // cancelled or paused before it started; nothing to do
	}
	if err != nil {
		return err
	}
	rdb := e.cfg.Store.rdb
	snap := snapKey(c.Account, c.ID)
	if n, err := rdb.Exists(ctx, snap).Result(); err != nil || n > 0 {
		return err
	}
	prog, err := e.audience(c, now)
	if err != nil {
		return queue.Permanent(fmt.Errorf("campaign %s audience: %w", c.ID, err))
	}
	counts, err := e.cfg.Profiles.Materialize(ctx, c.Account, profile.And(prog, profile.Reachable()), audIndex(c.ID), keepFor)
	if err != nil {
		return err
	}
	jobs, err := e.chunkJobs(ctx, c, 0)
	if err != nil {
		return err
	}
	// The chunk counter exists before any chunk can finish.
	if err := rdb.SetNX(ctx, leftKey(c.Account, c.ID), len(jobs), keepFor).Err(); err != nil {
		return err
	}
	if _, err := e.cfg.Store.Update(ctx, c.Account, c.ID, func(c *Campaign) error {
		c.Chunks, c.Planned = len(jobs), counts.Total
		return nil
	}); err != nil {
		return err
	}
	if err := e.launch(ctx, c, 0, jobs); err != nil {
		return err
	}
	if err := rdb.Set(ctx, snap, now.Unix(), keepFor).Err(); err != nil {
		return err
	}
	e.log.Info("campaign started", "campaign", c.ID, "account", c.Account, "audience", counts.Total, "chunks", len(jobs))
	return nil
}

// chunkJobs lists the chunk jobs of c's audience for phase (0: the send,
// 1: a variant campaign's winner phase). Only ranges with audience
// members get a chunk job: a small campaign in a large district costs its
// audience, not the district.
func (e *Engine) chunkJobs(ctx context.Context, c *Campaign, phase int) ([]queue.Job, error) {
	var jobs []queue.Job
	for shard := range profile.Shards {
		max, err := e.cfg.Profiles.MaxLocal(ctx, c.Account, shard)
		if err != nil {
			return nil, err
		}
		size := (max/chunkSize + 1) * chunkSize
		aud, err := e.cfg.Profiles.Bits(ctx, c.Account, shard, []string{audIndex(c.ID)}, 0, size)
		if err != nil {
			return nil, err
		}
		for from := int64(0); from <= max; from += chunkSize {
			if !anySet(aud[0][from/8 : (from+chunkSize)/8]) {
				continue
			}
			b, _ := json.Marshal(jobRef{Account: c.Account, ID: c.ID, Shard: shard, From: from, Phase: phase})
			jobs = append(jobs, queue.Job{ID: fmt.Sprintf("%s:%s:%d:%d%s", c.Account, c.ID, shard, from, phaseSuffix(phase)), Kind: JobChunk, Lane: queue.LaneBulk, Payload: b})
		}
	}
	return jobs, nil
}

// phaseSuffix tells a winner phase's job ids and chunk names from the
// first phase's.
func phaseSuffix(phase int) string {
	if phase > 0 {
		return ":w"
	}
	return ""
}

// launch enqueues jobs, or the finalize of phase when there are none
// (nobody to send to: no chunk would finish it).
func (e *Engine) launch(ctx context.Context, c *Campaign, phase int, jobs []queue.Job) error {
	for _, j := range jobs {
		if _, err := e.cfg.Queue(c.Account).EnqueueOnce(ctx, j, keepFor); err != nil {
			return err
		}
	}
	if len(jobs) == 0 {
		return e.enqueueFinal(ctx, c, phase)
	}
	return nil
}

// enqueueFinal enqueues the finalize job of phase, once.
func (e *Engine) enqueueFinal(ctx context.Context, c *Campaign, phase int) error {
	b, _ := json.Marshal(jobRef{Account: c.Account, ID: c.ID, Phase: phase})
	_, err := e.cfg.Queue(c.Account).EnqueueOnce(ctx, queue.Job{ID: c.Account + ":" + c.ID + ":final" + phaseSuffix(phase), Kind: JobFinalize, Lane: queue.LaneBulk, Payload: b}, keepFor)
	return err
}

// enqueueChunks starts phase of c: its chunk counter, then its chunks.
func (e *Engine) enqueueChunks(ctx context.Context, c *Campaign, phase int) error {
	jobs, err := e.chunkJobs(ctx, c, phase)
	if err != nil {
		return err
	}
	if err := e.cfg.Store.rdb.SetNX(ctx, leftKeyOf(c.Account, c.ID, phase), len(jobs), keepFor).Err(); err != nil {
		return err
	}
	return e.launch(ctx, c, phase, jobs)
}

// audience is c's audience program: its expression, narrowed to those
// who received the corrected item, or to those the campaign it follows up
// was sent to.
func (e *Engine) audience(c *Campaign, now time.Time) (profile.Program, error) {
	prog, err := e.cfg.Compile(c.Audience, now)
	if err != nil {
		return nil, err
	}
	if c.CorrectionOf != "" {
		prog = profile.And(prog, profile.Term(profile.ReceivedIndex(c.CorrectionOf)))
	}
	if c.FollowUpOf != "" {
		prog = profile.And(prog, profile.Term(scope(&Campaign{Account: c.Account, ID: c.FollowUpOf}).SentIndex()))
	}
	return prog, nil
}

func anySet(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return true
		}
	}
	return false
}

// errStop ends a job with nothing to do: the campaign is gone, cancelled
// or done.
var errStop = errors.New("campaign not running")

// runnable loads the campaign of a sending job and says whether it may
// send now: a paused campaign or quiet hours make the job wait (without
// counting an attempt; the campaign says why and until when), a cancelled
// one ends it (errStop).
func (e *Engine) runnable(ctx context.Context, ref jobRef) (*Campaign, time.Time, error) {
	c, err := e.cfg.Store.Get(ctx, ref.Account, ref.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, time.Time{}, errStop
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	switch c.Status {
	case StatusPaused:
		return nil, time.Time{}, queue.Later(errors.New("campaign paused"), 30*time.Second)
	case StatusRunning:
	default:
		return nil, time.Time{}, errStop
	}
	now := e.cfg.Now()
	if !c.Urgent && e.cfg.Quiet.Contains(now, e.cfg.Loc) {
		until := e.cfg.Quiet.NextOpen(now, e.cfg.Loc)
		if err := e.cfg.Store.setWaiting(ctx, c, Waiting{Reason: WaitQuietHours, Until: &until}); err != nil {
			return nil, time.Time{}, err
		}
		return nil, time.Time{}, queue.At(errors.New("quiet hours"), until)
	}
	if c.Waiting != nil {
		if err := e.cfg.Store.setWaiting(ctx, c, Waiting{}); err != nil {
			return nil, time.Time{}, err
		}
	}
	return c, now, nil
}

// picker returns the deliverable items and a picker over them, rebuilt at
// most once a minute per account.
func (e *Engine) picker(ctx context.Context, account string, now time.Time) ([]*content.Item, *plan.Picker, error) {
	e.mu.Lock()
	cp, ok := e.pickers[account]
	e.mu.Unlock()
	if ok && now.Sub(cp.at) < time.Minute && !now.Before(cp.at) {
		return cp.items, cp.picker, nil
	}
	items, err := e.cfg.Items.Deliverable(ctx, account, now)
	if err != nil {
		return nil, nil, err
	}
	pop, err := e.popularity(ctx, account)
	if err != nil {
		return nil, nil, err
	}
	cp = cachedPicker{at: now, items: items, picker: plan.NewPopularPicker(items, e.cfg.Loc, now, pop)}
	e.mu.Lock()
	e.pickers[account] = cp
	e.mu.Unlock()
	return cp.items, cp.picker, nil
}

func deliverable(it *content.Item, now time.Time) bool {
	if it == nil || it.Status != content.StatusPublished {
		return false
	}
	if !it.ValidFrom.IsZero() && now.Before(it.ValidFrom) {
		return false
	}
	return it.ValidUntil.IsZero() || now.Before(it.ValidUntil)
}
