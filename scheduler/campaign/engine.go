package campaign

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/content"
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
const chunkSize = 1024

// massBatch is WeChat's largest openid list for one mass send.
const massBatch = 10000

// Items is the content library as the engine needs it.
type Items interface {
	Item(ctx context.Context, account, id string) (*content.Item, error)
	// Deliverable lists the published items valid at t.
	Deliverable(ctx context.Context, account string, t time.Time) ([]*content.Item, error)
}

// Sender sends through WeChat (*wechat.Client).
type Sender interface {
	SendNews(ctx context.Context, openID string, a wechat.Article) error
	SendTemplate(ctx context.Context, m wechat.TemplateMessage) (int64, error)
	MassSendToOpenIDs(ctx context.Context, openIDs []string, m wechat.MassMessage, clientMsgID string) (wechat.MassResult, error)
}

// Compiler turns an audience expression into a profile program.
type Compiler func(expr string, now time.Time) (profile.Program, error)

// Config is what the engine needs; every field is required unless noted.
type Config struct {
	Store    *Store
	Profiles *profile.Store
	Items    Items
	// Queue returns an account's job queue.
	Queue   func(account string) *queue.Queue
	Limiter *queue.Limiter // nil: no shared rate limit (tests)
	// Sender returns the WeChat sender of an account.
	Sender   func(account string) (Sender, error)
	Compile  Compiler
	Rules    func(account string) plan.Rules
	Quiet    plan.QuietHours
	Caps     plan.Caps
	Links    *Links
	Template string // template id for notices ("" = none configured)
	Loc      *time.Location
	Now      func() time.Time
	Logger   *slog.Logger
}

// Engine runs campaigns. It is safe for concurrent use by many workers.
type Engine struct {
	cfg Config
	log *slog.Logger

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
	return &Engine{cfg: cfg, log: cfg.Logger.With("component", "campaign"), pickers: map[string]cachedPicker{}}
}

// Index names of a campaign's per-recipient bitmaps (in every shard).
func audIndex(id string) string           { return "c:" + id + ":aud" }
func sentIndex(id string) string          { return "c:" + id + ":sent" }
func failedIndex(id string) string        { return "c:" + id + ":failed" }
func skippedIndex(id string) string       { return "c:" + id + ":skipped" }
func plannedIndex(id string) string       { return "c:" + id + ":planned" } // waiting for a mass send
func claimIndex(id string) string         { return "c:" + id + ":claim" }
func channelIndex(id, ch string) string   { return "c:" + id + ":ch:" + ch }
func massIndex(id, item string) string    { return "c:" + id + ":m:" + item }
func clickIndex(id string) string         { return "c:" + id + ":click" }
func receivedIndex(item string) string    { return "rcv:" + item }
func pushedIndex(t time.Time) string      { return "push:" + t.Format("20060102") }
func massItemsKey(acct, id string) string { return campKey(acct, id) + ":massitems" }

// keepFor is how long a campaign's recipient bitmaps are kept.
const keepFor = 90 * 24 * time.Hour

type jobRef struct {
	Account string `json:"a"`
	ID      string `json:"c"`
	Shard   int    `json:"s,omitempty"`
	From    int64  `json:"f,omitempty"`
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
	}
	return queue.Permanent(fmt.Errorf("unknown job kind %q", j.Kind))
}

// start moves the campaign to running, snapshots its audience and
// enqueues its chunks. Every step is safe to repeat.
func (e *Engine) start(ctx context.Context, ref jobRef) error {
	now := e.cfg.Now()
	c, err := e.cfg.Store.Update(ctx, ref.Account, ref.ID, func(c *Campaign) error {
		switch c.Status {
		case StatusDraft, StatusScheduled:
			c.Status, c.StartedAt = StatusRunning, &now
		case StatusRunning:
		default:
			return ErrBadTransition
		}
		return nil
	})
	if errors.Is(err, ErrBadTransition) || errors.Is(err, ErrNotFound) {
		return nil // cancelled or paused before it started; nothing to do
	}
	if err != nil {
		return err
	}
	rdb := e.cfg.Store.rdb
	snapKey := campKey(c.Account, c.ID) + ":snap"
	if n, _ := rdb.Exists(ctx, snapKey).Result(); n == 0 {
		prog, err := e.cfg.Compile(c.Audience, now)
		if err != nil {
			return queue.Permanent(fmt.Errorf("campaign %s audience: %w", c.ID, err))
		}
		if c.CorrectionOf != "" {
			prog = profile.And(prog, profile.Term(receivedIndex(c.CorrectionOf)))
		}
		counts, err := e.cfg.Profiles.Materialize(ctx, c.Account, profile.And(prog, profile.Reachable()), audIndex(c.ID), keepFor)
		if err != nil {
			return err
		}
		var jobs []queue.Job
		for shard := range profile.Shards {
			max, err := e.cfg.Profiles.MaxLocal(ctx, c.Account, shard)
			if err != nil {
				return err
			}
			for from := int64(0); from <= max; from += chunkSize {
				b, _ := json.Marshal(jobRef{Account: c.Account, ID: c.ID, Shard: shard, From: from})
				jobs = append(jobs, queue.Job{ID: fmt.Sprintf("%s:%s:%d:%d", c.Account, c.ID, shard, from), Kind: JobChunk, Lane: queue.LaneBulk, Payload: b})
			}
		}
		// The chunk counter exists before any chunk can finish.
		rdb.SetNX(ctx, campKey(c.Account, c.ID)+":left", len(jobs), keepFor)
		if _, err := e.cfg.Store.Update(ctx, c.Account, c.ID, func(c *Campaign) error {
			c.Chunks, c.Planned = len(jobs), counts.Total
			return nil
		}); err != nil {
			return err
		}
		for _, j := range jobs {
			if _, err := e.cfg.Queue(c.Account).EnqueueOnce(ctx, j, keepFor); err != nil {
				return err
			}
		}
		if err := rdb.Set(ctx, snapKey, now.Unix(), keepFor).Err(); err != nil {
			return err
		}
		e.log.Info("campaign started", "campaign", c.ID, "account", c.Account, "audience", counts.Total, "chunks", len(jobs))
	}
	return nil
}

// outcome collects what a chunk decided, applied in one atomic call.
type outcome struct {
	sent, failed, skipped, planned []int64
	byChannel                      map[string][]int64
	byItem                         map[string][]int64 // received
	massByItem                     map[string][]int64
	reasons                        map[string]int64
	spendMsg, spendEvent           []string
}

func newOutcome() *outcome {
	return &outcome{byChannel: map[string][]int64{}, byItem: map[string][]int64{}, massByItem: map[string][]int64{}, reasons: map[string]int64{}}
}

func (o *outcome) skip(lid int64, reason string) {
	o.skipped = append(o.skipped, lid)
	o.reasons["skipped:"+reason]++
}

func (o *outcome) fail(lid int64, reason string) {
	o.failed = append(o.failed, lid)
	o.reasons["failed:"+reason]++
}

// errStop ends a job with nothing to do: the campaign is gone, cancelled
// or done.
var errStop = errors.New("campaign not running")

// runnable loads the campaign of a sending job and says whether it may
// send now: a paused campaign or quiet hours retry the job later (held,
// then released), a cancelled one ends it (errStop).
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
		return nil, time.Time{}, queue.Retry(errors.New("campaign paused"), 30*time.Second)
	case StatusRunning:
	default:
		return nil, time.Time{}, errStop
	}
	now := e.cfg.Now()
	if e.cfg.Quiet.Contains(now, e.cfg.Loc) {
		return nil, time.Time{}, queue.Retry(errors.New("quiet hours"), e.cfg.Quiet.NextOpen(now, e.cfg.Loc).Sub(now))
	}
	return c, now, nil
}

// chunk plans and sends one chunk of the audience.
func (e *Engine) chunk(ctx context.Context, ref jobRef) error {
	c, now, err := e.runnable(ctx, ref)
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		return err
	}
	days := make([]string, 7)
	for i := range days {
		days[i] = pushedIndex(now.In(e.cfg.Loc).AddDate(0, 0, -i))
	}
	names := append([]string{audIndex(c.ID), sentIndex(c.ID), failedIndex(c.ID), skippedIndex(c.ID), plannedIndex(c.ID)}, days...)
	var item *content.Item
	var cand []*content.Item
	var picker *plan.Picker
	if c.Mode == ModeItem {
		if item, err = e.cfg.Items.Item(ctx, c.Account, c.ItemID); err != nil {
			return err
		}
		names = append(names, receivedIndex(item.ID))
	} else {
		cand, picker, err = e.picker(ctx, c.Account, now)
		if err != nil {
			return err
		}
		for _, it := range cand {
			names = append(names, receivedIndex(it.ID))
		}
	}
	bits, err := e.cfg.Profiles.Bits(ctx, c.Account, ref.Shard, names, ref.From, chunkSize)
	if err != nil {
		return err
	}
	var lids []int64
	for i := int64(0); i < chunkSize; i++ {
		if profile.BitSet(bits[0], i) && !profile.BitSet(bits[1], i) && !profile.BitSet(bits[2], i) &&
			!profile.BitSet(bits[3], i) && !profile.BitSet(bits[4], i) {
			lids = append(lids, ref.From+i)
		}
	}
	out := newOutcome()
	if len(lids) > 0 {
		members, err := e.cfg.Profiles.Members(ctx, c.Account, ref.Shard, lids)
		if err != nil {
			return err
		}
		found := make(map[int64]bool, len(members))
		for _, m := range members {
			found[m.ID.Local] = true
		}
		for _, lid := range lids {
			if !found[lid] {
				out.skip(lid, "erased")
			}
		}
		rules := e.cfg.Rules(c.Account)
		idx := make(map[string]int, len(cand))
		for k, x := range cand {
			idx[x.ID] = k
		}
		dayBits := bits[5:12]
		recv := bits[12:]
		var custom, templ []plannedSend
		for _, m := range members {
			i := m.ID.Local - ref.From
			if !m.Profile.Reachable() {
				out.skip(m.ID.Local, "unreachable")
				continue
			}
			today, week := 0, 0
			for d, db := range dayBits {
				if profile.BitSet(db, i) {
					week++
					if d == 0 {
						today++
					}
				}
			}
			if c.CorrectionOf == "" && !e.cfg.Caps.Allow(today, week) { // corrections are never capped
				out.skip(m.ID.Local, "frequency_cap")
				continue
			}
			it := item
			if c.Mode == ModeItem {
				if profile.BitSet(recv[0], i) {
					out.skip(m.ID.Local, "already_received")
					continue
				}
				if !deliverable(it, now) {
					out.skip(m.ID.Local, "item_not_deliverable")
					continue
				}
				if slices.ContainsFunc(it.Topics, m.Profile.OptedOutOf) && c.CorrectionOf == "" {
					out.skip(m.ID.Local, "topic_opted_out")
					continue
				}
			} else {
				best, _, ok := picker.Pick(m.Profile, func(id string) bool { return profile.BitSet(recv[idx[id]], i) }, m.Profile.OptedOutOf)
				if !ok {
					out.skip(m.ID.Local, "no_item")
					continue
				}
				it = best
			}
			kind := plan.KindContent
			if c.Notice {
				kind = plan.KindNotice
			}
			d := plan.Choose(m.Profile, kind, rules, plan.Options{}, now)
			ps := plannedSend{member: m, item: it, decision: d}
			switch d.Channel {
			case plan.ChannelCustom:
				custom = append(custom, ps)
			case plan.ChannelTemplate:
				templ = append(templ, ps)
			case plan.ChannelMass:
				out.planned = append(out.planned, m.ID.Local)
				out.massByItem[it.ID] = append(out.massByItem[it.ID], m.ID.Local)
			default:
				out.skip(m.ID.Local, d.Reason.String())
			}
		}
		if err := e.sendDirect(ctx, c, ref.Shard, custom, templ, out, now); err != nil {
			e.apply(ctx, c, ref.Shard, out, now)
			return err
		}
	}
	if err := e.apply(ctx, c, ref.Shard, out, now); err != nil {
		return err
	}
	last, err := e.cfg.Store.chunkDone(ctx, c.Account, c.ID, fmt.Sprintf("%d:%d", ref.Shard, ref.From))
	if err != nil {
		return err
	}
	if last {
		b, _ := json.Marshal(jobRef{Account: c.Account, ID: c.ID})
		_, err = e.cfg.Queue(c.Account).EnqueueOnce(ctx, queue.Job{ID: c.Account + ":" + c.ID + ":final", Kind: JobFinalize, Lane: queue.LaneBulk, Payload: b}, keepFor)
	}
	return err
}

type plannedSend struct {
	member   profile.Member
	item     *content.Item
	decision plan.Decision
}

// sendDirect sends customer-service and template messages. A retryable
// WeChat error stops the chunk (the job is retried with backoff; what was
// sent is recorded in out and stays sent).
func (e *Engine) sendDirect(ctx context.Context, c *Campaign, shard int, custom, templ []plannedSend, out *outcome, now time.Time) error {
	if len(custom)+len(templ) == 0 {
		return nil
	}
	sender, err := e.cfg.Sender(c.Account)
	if err != nil {
		for _, ps := range append(custom, templ...) {
			out.fail(ps.member.ID.Local, "wechat_not_configured")
		}
		return nil
	}
	// Customer-service messages have no idempotency key at WeChat: claim
	// each recipient first, so a second worker or a rerun never sends again.
	if len(custom) > 0 {
		lids := make([]int64, len(custom))
		for i, ps := range custom {
			lids[i] = ps.member.ID.Local
		}
		old, err := e.cfg.Profiles.SetBits(ctx, c.Account, shard, profile.BitChange{Index: claimIndex(c.ID), Bit: 1, TTL: keepFor, Lids: lids})
		if err != nil {
			return err
		}
		for i, ps := range custom {
			if old[i] {
				out.skip(ps.member.ID.Local, "claimed_elsewhere")
				continue
			}
			if err := e.wait(ctx, "custom:"+c.Account, 100, time.Second); err != nil {
				return err
			}
			err := sender.SendNews(ctx, ps.member.OpenID, e.Render(c, ps.item, ps.member, "custom").article())
			if done, err := e.record(ctx, c, shard, ps, "custom", err, out); !done {
				// Not sent: release the claim so the retry sends it.
				e.cfg.Profiles.SetBits(ctx, c.Account, shard, profile.BitChange{Index: claimIndex(c.ID), Bit: 0, Lids: []int64{ps.member.ID.Local}})
				return err
			}
		}
	}
	for _, ps := range templ {
		if err := e.wait(ctx, "template:"+c.Account, 50, time.Second); err != nil {
			return err
		}
		_, err := sender.SendTemplate(ctx, e.template(c, ps.member, e.Render(c, ps.item, ps.member, "template")))
		if done, err := e.record(ctx, c, shard, ps, "template", err, out); !done {
			return err
		}
	}
	return nil
}

// record files the result of one direct send. It returns done=false with
// an error when the chunk must stop and be retried.
func (e *Engine) record(ctx context.Context, c *Campaign, shard int, ps plannedSend, ch string, err error, out *outcome) (bool, error) {
	lid := ps.member.ID.Local
	switch wechat.Classify(err) {
	case wechat.OK, wechat.Duplicate:
		out.sent = append(out.sent, lid)
		out.byChannel[ch] = append(out.byChannel[ch], lid)
		out.byItem[ps.item.ID] = append(out.byItem[ps.item.ID], lid)
		if ch == "custom" {
			if ps.decision.Window == plan.WindowEvent {
				out.spendEvent = append(out.spendEvent, ps.member.OpenID)
			} else {
				out.spendMsg = append(out.spendMsg, ps.member.OpenID)
			}
		}
		return true, nil
	case wechat.WindowClosed, wechat.QuotaUsed:
		// Our record of the window was stale: fall back to a mass send.
		out.planned = append(out.planned, lid)
		out.massByItem[ps.item.ID] = append(out.massByItem[ps.item.ID], lid)
		return true, nil
	case wechat.Unfollowed:
		out.fail(lid, "unfollowed")
		e.cfg.Profiles.Update(ctx, c.Account, ps.member.OpenID, func(p *profile.Profile) (*profile.Profile, error) {
			if p != nil {
				p.Subscribed = false
			}
			return p, nil
		})
		return true, nil
	case wechat.Retry, wechat.RateLimited, wechat.TokenInvalid:
		return false, queue.Retry(err, 5*time.Second)
	default:
		code, _ := wechat.Code(err)
		out.fail(lid, fmt.Sprintf("wechat_%d", code))
		return true, nil
	}
}

// apply writes a chunk's outcome: bits per shard in one atomic call,
// reasons, and WeChat limit counters.
func (e *Engine) apply(ctx context.Context, c *Campaign, shard int, out *outcome, now time.Time) error {
	changes := []profile.BitChange{
		{Index: sentIndex(c.ID), Bit: 1, TTL: keepFor, Lids: out.sent},
		{Index: failedIndex(c.ID), Bit: 1, TTL: keepFor, Lids: out.failed},
		{Index: skippedIndex(c.ID), Bit: 1, TTL: keepFor, Lids: out.skipped},
		{Index: plannedIndex(c.ID), Bit: 1, TTL: keepFor, Lids: out.planned},
		{Index: pushedIndex(now.In(e.cfg.Loc)), Bit: 1, TTL: 8 * 24 * time.Hour, Lids: out.sent},
	}
	for ch, lids := range out.byChannel {
		changes = append(changes, profile.BitChange{Index: channelIndex(c.ID, ch), Bit: 1, TTL: keepFor, Lids: lids})
	}
	for it, lids := range out.byItem {
		changes = append(changes, profile.BitChange{Index: receivedIndex(it), Bit: 1, Lids: lids})
	}
	var massItems []any
	for it, lids := range out.massByItem {
		changes = append(changes, profile.BitChange{Index: massIndex(c.ID, it), Bit: 1, TTL: keepFor, Lids: lids})
		massItems = append(massItems, it)
	}
	if len(massItems) > 0 {
		// Before the bits: finalize must know every item that has recipients.
		if err := e.cfg.Store.rdb.SAdd(ctx, massItemsKey(c.Account, c.ID), massItems...).Err(); err != nil {
			return err
		}
	}
	if _, err := e.cfg.Profiles.SetBits(ctx, c.Account, shard, changes...); err != nil {
		return err
	}
	if err := e.cfg.Store.addReasons(ctx, c.Account, c.ID, out.reasons); err != nil {
		return err
	}
	if err := e.cfg.Profiles.SpendMany(ctx, c.Account, out.spendMsg, profile.SpendMessage, 0); err != nil {
		return err
	}
	return e.cfg.Profiles.SpendMany(ctx, c.Account, out.spendEvent, profile.SpendEvent, 0)
}

// finalize sends every item's mass recipients in openid lists.
func (e *Engine) finalize(ctx context.Context, ref jobRef) error {
	c, now, err := e.runnable(ctx, ref)
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		return err
	}
	items, err := e.cfg.Store.rdb.SMembers(ctx, massItemsKey(c.Account, c.ID)).Result()
	if err != nil {
		return err
	}
	sort.Strings(items)
	for _, itemID := range items {
		if err := e.massItem(ctx, c, itemID, now); err != nil {
			return err
		}
	}
	_, err = e.cfg.Store.Update(ctx, c.Account, c.ID, func(c *Campaign) error {
		if c.Status == StatusRunning {
			c.Status, c.DoneAt = StatusDone, &now
		}
		return nil
	})
	if err == nil {
		e.log.Info("campaign done", "campaign", c.ID, "account", c.Account)
	}
	return err
}

type recipient struct {
	shard  int
	lid    int64
	openID string
}

// massItem sends one item to its mass recipients not yet sent, in
// batches whose clientmsgid is derived from their members: a batch sent
// before a crash is answered 45065 by WeChat and only marked here.
func (e *Engine) massItem(ctx context.Context, c *Campaign, itemID string, now time.Time) error {
	it, err := e.cfg.Items.Item(ctx, c.Account, itemID)
	if err != nil {
		return err
	}
	var rs []recipient
	for shard := range profile.Shards {
		max, err := e.cfg.Profiles.MaxLocal(ctx, c.Account, shard)
		if err != nil {
			return err
		}
		n := (max/8 + 1) * 8
		bits, err := e.cfg.Profiles.Bits(ctx, c.Account, shard, []string{massIndex(c.ID, itemID), sentIndex(c.ID), failedIndex(c.ID)}, 0, n)
		if err != nil {
			return err
		}
		var lids []int64
		for i := range n {
			if profile.BitSet(bits[0], i) && !profile.BitSet(bits[1], i) && !profile.BitSet(bits[2], i) {
				lids = append(lids, i)
			}
		}
		for start := 0; start < len(lids); start += chunkSize {
			ms, err := e.cfg.Profiles.Members(ctx, c.Account, shard, lids[start:min(start+chunkSize, len(lids))])
			if err != nil {
				return err
			}
			for _, m := range ms {
				rs = append(rs, recipient{shard: shard, lid: m.ID.Local, openID: m.OpenID})
			}
		}
	}
	if len(rs) == 0 {
		return nil
	}
	sender, err := e.cfg.Sender(c.Account)
	if err != nil {
		return e.markMass(ctx, c, itemID, rs, "", now)
	}
	msg := wechat.MassMessage{Text: e.Render(c, it, profile.Member{}, "mass").Text}
	for start := 0; start < len(rs); start += massBatch {
		batch := rs[start:min(start+massBatch, len(rs))]
		if len(batch) == 1 {
			// WeChat sends mass lists of 2 or more only: this one waits for
			// the next campaign (skipped, not failed).
			if err := e.skipMass(ctx, c, batch[0], "mass_batch_of_one"); err != nil {
				return err
			}
			continue
		}
		openIDs := make([]string, len(batch))
		for i, r := range batch {
			openIDs[i] = r.openID
		}
		if err := e.waitMass(ctx, c.Account); err != nil {
			return err
		}
		res, err := sender.MassSendToOpenIDs(ctx, openIDs, msg, batchID(c.ID, itemID, openIDs))
		switch wechat.Classify(err) {
		case wechat.OK, wechat.Duplicate:
			if res.MsgID == 0 {
				var we *wechat.Error
				if errors.As(err, &we) {
					res.MsgID = we.MsgID
				}
			}
			if err := e.cfg.Store.rememberMassJob(ctx, c.Account, c.ID, res.MsgID); err != nil {
				return err
			}
			if err := e.markMass(ctx, c, itemID, batch, "", now); err != nil {
				return err
			}
		case wechat.RateLimited:
			return queue.Retry(err, 10*time.Second) // 45009: back off, don't hammer
		case wechat.Retry, wechat.TokenInvalid:
			return queue.Retry(err, 2*time.Second)
		default:
			code, _ := wechat.Code(err)
			if err := e.markMass(ctx, c, itemID, batch, fmt.Sprintf("wechat_%d", code), now); err != nil {
				return err
			}
		}
	}
	return nil
}

// markMass records a mass batch as sent (failReason "") or failed.
func (e *Engine) markMass(ctx context.Context, c *Campaign, itemID string, batch []recipient, failReason string, now time.Time) error {
	byShard := map[int][]int64{}
	openIDs := make([]string, 0, len(batch))
	for _, r := range batch {
		byShard[r.shard] = append(byShard[r.shard], r.lid)
		openIDs = append(openIDs, r.openID)
	}
	for shard, lids := range byShard {
		out := newOutcome()
		if failReason != "" {
			for _, l := range lids {
				out.fail(l, failReason)
			}
		} else {
			out.sent = lids
			out.byChannel["mass"] = lids
			out.byItem[itemID] = lids
		}
		if err := e.apply(ctx, c, shard, out, now); err != nil {
			return err
		}
	}
	if failReason != "" {
		return nil
	}
	return e.cfg.Profiles.SpendMany(ctx, c.Account, openIDs, profile.SpendMass, plan.MonthNumber(now, e.cfg.Loc))
}

// skipMass records a mass recipient as skipped with a reason.
func (e *Engine) skipMass(ctx context.Context, c *Campaign, r recipient, reason string) error {
	out := newOutcome()
	out.skip(r.lid, reason)
	return e.apply(ctx, c, r.shard, out, e.cfg.Now())
}

// batchID is a mass send's clientmsgid: the same members give the same
// id, so WeChat deduplicates a repeated call (45065) within 24 hours.
func batchID(campaignID, itemID string, openIDs []string) string {
	h := sha1.New()
	h.Write([]byte(campaignID + "\x00" + itemID))
	for _, o := range openIDs {
		h.Write([]byte("\x00" + o))
	}
	return "kb" + hex.EncodeToString(h.Sum(nil))
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
	cp = cachedPicker{at: now, items: items, picker: plan.NewPicker(items, e.cfg.Loc, now)}
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

// wait blocks until the shared rate limit allows one more call. A limit
// that would keep the worker waiting for long (a day's mass budget spent)
// becomes a retry of the job later, so the worker serves other jobs.
func (e *Engine) wait(ctx context.Context, key string, rate int, per time.Duration) error {
	if e.cfg.Limiter == nil {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := e.cfg.Limiter.Wait(wctx, "wechat:"+key, queue.Limit{Rate: rate, Per: per, Burst: rate})
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return queue.Retry(fmt.Errorf("rate limit %s", key), 10*time.Minute)
	}
	return err
}

// waitMass respects WeChat's mass-send call limits: 60 a minute, 100 a day
// (one a day for a subscription account).
func (e *Engine) waitMass(ctx context.Context, account string) error {
	if e.cfg.Limiter == nil {
		return nil
	}
	if e.cfg.Rules(account).AccountType == plan.SubscriptionAccount {
		return e.wait(ctx, "mass-day:"+account, 1, 24*time.Hour)
	}
	if err := e.wait(ctx, "mass-min:"+account, 60, time.Minute); err != nil {
		return err
	}
	return e.wait(ctx, "mass-day:"+account, 100, 24*time.Hour)
}
