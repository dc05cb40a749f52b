// Package campaign delivers a campaign — one item, or the best item per
// subscriber — to an audience, exactly once per subscriber, through the
// WeChat channel each one can be reached by, within WeChat's limits.
//
// How a campaign runs (engine.go):
//
//  1. Start snapshots the audience into a bitmap per shard (profile.Store
//     Materialize), so a resumed campaign sends to exactly the subscribers
//     it started with, and enqueues one chunk job per 1,024 local ids.
//  2. A chunk job (any replica, any worker) loads its members, skips the
//     ones already done, plans each (item, channel) and sends: customer-
//     service and template messages at once; mass recipients are marked in
//     a per-item bitmap. Outcomes are bits in per-campaign bitmaps (sent,
//     failed, skipped, by channel): 1.5 M recipients cost kilobytes.
//  3. When the last chunk is done, a finalize job sends each item's mass
//     recipients: in one sendall call to everyone or to a synced WeChat
//     tag when every member of it waits for that item (notify.Group), the
//     rest in openid lists of up to 10,000, each call with a clientmsgid
//     derived from whom it addresses so a retried or duplicated call is
//     deduplicated by WeChat itself (45065).
//
// Every step may run twice (a crash, a redelivered job, a second worker):
// claims and outcome bits make each recipient's effect happen once.
package campaign

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/redisconn"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
)

// Status is where a campaign stands.
type Status string

// Campaign states: draft → scheduled (send_at) → running → done; running
// ⇄ paused; any but done → cancelled.
const (
	StatusDraft     Status = "draft"
	StatusScheduled Status = "scheduled"
	StatusRunning   Status = "running"
	StatusPaused    Status = "paused"
	StatusDone      Status = "done"
	StatusCancelled Status = "cancelled"
)

// Mode says what each recipient gets.
const (
	ModeItem         = "item"         // the campaign's one item
	ModePersonalized = "personalized" // the best published item per subscriber
)

// Campaign is one delivery to an audience.
type Campaign struct {
	ID       string `json:"id"`
	Account  string `json:"account"`
	Name     string `json:"name"`
	Audience string `json:"audience"` // segment expression; "" = everyone reachable
	Mode     string `json:"mode"`
	ItemID   string `json:"item_id,omitempty"`
	// Notice marks a service notice (an event reminder): it may go as a
	// template message; content never does.
	Notice    bool       `json:"notice,omitempty"`
	SendAt    *time.Time `json:"send_at,omitempty"`
	Status    Status     `json:"status"`
	CreatedBy string     `json:"created_by,omitempty"`
	// Department is the department the campaign is for ("" when none).
	Department string `json:"department,omitempty"`
	// Booking is the id of the department's booking (scheduler/calendar)
	// whose mass send the campaign makes ("" none): mass sends within
	// its audience use it; without one, a mass send may use only budget
	// no other booking holds and that is not kept for alerts.
	Booking string `json:"booking,omitempty"`
	// Alert marks a hazard alert: it may use the mass send the calendar
	// keeps for alerts.
	Alert     bool       `json:"alert,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	DoneAt    *time.Time `json:"done_at,omitempty"`
	// CorrectionOf, when set, is a retired item: the campaign goes only to
	// those who received it (a correction).
	CorrectionOf string `json:"correction_of,omitempty"`
	// FollowUpOf, when set, is an earlier campaign: this one goes only to
	// those that campaign was sent to (a hazard alert's update or
	// cancellation follows the original's recipients).
	FollowUpOf string `json:"follow_up_of,omitempty"`
	// Urgent sends through quiet hours and frequency caps (a severe or
	// extreme hazard alert).
	Urgent bool `json:"urgent,omitempty"`
	// Chunks is how many chunk jobs the start enqueued.
	Chunks int `json:"chunks"`
	// Planned is the audience size at start.
	Planned int64 `json:"planned"`
	// Waiting says why a running campaign sends nothing now, and until
	// when (nil: it is not waiting).
	Waiting *Waiting `json:"waiting,omitempty"`
	// Variants, when set, split the audience (variants.go); WinnerAfter
	// > 0 holds HoldoutShare back for the winner, chosen that long after
	// the start (Winner, its index, once chosen).
	Variants    []Variant `json:"variants,omitempty"`
	WinnerAfter Seconds   `json:"winner_after,omitempty"`
	Winner      *int      `json:"winner,omitempty"`
	// SendTime SendOptimal sends each recipient at their best hour of the
	// campaign's day (sendtime.go); "" sends everyone at once.
	SendTime string `json:"send_time,omitempty"`
}

// Waiting is why a campaign holds its sends.
type Waiting struct {
	Reason string     `json:"reason"`
	Until  *time.Time `json:"until,omitempty"`
}

// Reasons a campaign waits.
const (
	WaitQuietHours = "quiet_hours" // until the quiet hours end
)

// setWaiting records why c waits (a zero w: it no longer waits), writing
// only a change, so thousands of waiting chunks do not contend.
func (s *Store) setWaiting(ctx context.Context, c *Campaign, w Waiting) error {
	same := func(x *Waiting) bool {
		if x == nil || w.Reason == "" {
			return (x == nil) == (w.Reason == "")
		}
		return x.Reason == w.Reason && ((x.Until == nil) == (w.Until == nil)) && (x.Until == nil || x.Until.Equal(*w.Until))
	}
	if same(c.Waiting) {
		return nil
	}
	_, err := s.Update(ctx, c.Account, c.ID, func(c *Campaign) error {
		if w.Reason == "" || c.Status != StatusRunning {
			c.Waiting = nil
			return nil
		}
		c.Waiting = &w
		return nil
	})
	return err
}

// Errors callers branch on.
var (
	ErrNotFound      = errors.New("campaign not found")
	ErrBadTransition = errors.New("campaign cannot do that in its current state")
)

// Store keeps campaigns in Redis (every key in keys.go). Per-recipient
// state lives in each profile shard as bitmaps, next to the subscribers it
// is about: delivery states in notify, the audience and clicks here.
type Store struct {
	rdb redis.UniversalClient
}

// NewStore returns a campaign store over rdb.
func NewStore(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// Create stores a new campaign and assigns its id.
func (s *Store) Create(ctx context.Context, c *Campaign) error {
	n, err := s.rdb.Incr(ctx, seqKey(c.Account)).Result()
	if err != nil {
		return fmt.Errorf("create campaign: %w", err)
	}
	c.ID = "c" + strconv.FormatInt(n, 10)
	b, _ := json.Marshal(c)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, campKey(c.Account, c.ID), b, 0)
		p.ZAdd(ctx, idsKey(c.Account), redis.Z{Score: float64(c.CreatedAt.Unix()), Member: c.ID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("create campaign: %w", err)
	}
	return nil
}

// Get returns a campaign or ErrNotFound.
func (s *Store) Get(ctx context.Context, account, id string) (*Campaign, error) {
	b, err := s.rdb.Get(ctx, campKey(account, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get campaign %s: %w", id, err)
	}
	var c Campaign
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("get campaign %s: %w", id, err)
	}
	return &c, nil
}

// List returns the newest campaigns first.
func (s *Store) List(ctx context.Context, account string, limit int) ([]*Campaign, error) {
	ids, err := s.rdb.ZRevRange(ctx, idsKey(account), 0, int64(limit)-1).Result()
	if err != nil {
		return nil, err
	}
	out := make([]*Campaign, 0, len(ids))
	for _, id := range ids {
		c, err := s.Get(ctx, account, id)
		if err == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// Update changes a campaign with optimistic locking (WATCH), so two
// replicas changing its state at once cannot both win. fn returns
// ErrBadTransition to refuse.
func (s *Store) Update(ctx context.Context, account, id string, fn func(c *Campaign) error) (*Campaign, error) {
	return redisconn.UpdateJSON(ctx, s.rdb, campKey(account, id), ErrNotFound, fn)
}

// chunkDone records that a chunk of phase finished and reports whether it was the
// last one. A chunk finishing twice counts once.
func (s *Store) chunkDone(ctx context.Context, account, id string, phase int, chunk string) (last bool, err error) {
	res, err := chunkDoneScript.Run(ctx, s.rdb, []string{chunksKey(account, id), leftKeyOf(account, id, phase)}, chunk).Int64()
	if err != nil {
		return false, fmt.Errorf("campaign %s chunk done: %w", id, err)
	}
	return res == 0, nil
}

//go:embed scripts/chunk_done.lua
var chunkDoneLua string

// chunkDoneScript counts a chunk done, once: scripts/chunk_done.lua.
var chunkDoneScript = redis.NewScript(chunkDoneLua)

// rememberMassJob maps a mass send's msg_id to its campaign, so WeChat's
// MASSSENDJOBFINISH report can be folded into the campaign's statistics,
// and counts the call by whom it addressed (once per msg_id: a call made
// again after a crash is WeChat's same job).
func (s *Store) rememberMassJob(ctx context.Context, account, campaignID string, r notify.MassResult) error {
	if r.MsgID == 0 {
		return nil
	}
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, msgKey(account, r.MsgID), campaignID, 7*24*time.Hour)
		pipe.HSet(ctx, massCallsKey(account, campaignID), strconv.FormatInt(r.MsgID, 10), r.To)
		return nil
	})
	return err
}

// massCalls counts a campaign's mass-send calls by whom they addressed
// (notify.ToOpenIDs, ToTag, ToAll).
func (s *Store) massCalls(ctx context.Context, account, campaignID string) (map[string]int64, error) {
	m, err := s.rdb.HGetAll(ctx, massCallsKey(account, campaignID)).Result()
	if err != nil {
		return nil, fmt.Errorf("campaign %s mass calls: %w", campaignID, err)
	}
	out := map[string]int64{}
	for _, to := range m {
		out[to]++
	}
	return out, nil
}

// MassReport is WeChat's account of one mass send (MASSSENDJOBFINISH).
type MassReport struct {
	MsgID                                          int64
	Status                                         string
	TotalCount, FilterCount, SentCount, ErrorCount int64
}

// FoldReport adds a MASSSENDJOBFINISH report to its campaign's WeChat
// counts, once per msg_id (WeChat retries events too). Reports of mass
// sends kepubot did not make are ignored.
func (s *Store) FoldReport(ctx context.Context, account string, r MassReport) error {
	id, err := s.rdb.Get(ctx, msgKey(account, r.MsgID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return err
	}
	first, err := s.rdb.SetNX(ctx, msgKey(account, r.MsgID)+":folded", 1, 7*24*time.Hour).Result()
	if err != nil || !first {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		k := wechatKey(account, id)
		p.HIncrBy(ctx, k, "total", r.TotalCount)
		p.HIncrBy(ctx, k, "filtered", r.FilterCount)
		p.HIncrBy(ctx, k, "sent", r.SentCount)
		p.HIncrBy(ctx, k, "error", r.ErrorCount)
		p.HIncrBy(ctx, k, "reports", 1)
		return nil
	})
	return err
}

// WeChatCounts returns the folded MASSSENDJOBFINISH counts of a campaign.
func (s *Store) WeChatCounts(ctx context.Context, account, id string) (map[string]int64, error) {
	m, err := s.rdb.HGetAll(ctx, wechatKey(account, id)).Result()
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k], _ = strconv.ParseInt(v, 10, 64)
	}
	return out, nil
}
