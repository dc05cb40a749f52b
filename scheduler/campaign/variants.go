package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// A/B variants (Braze/Mautic style). A campaign of one item may name
// variants: another item each, or the campaign's item under another title
// and summary. Its audience is split deterministically by subscriber — a
// hash of the campaign id and the profile id — into the variants and,
// when WinnerAfter is set, a holdout of HoldoutShare that the first phase
// leaves pending.
//
// The winner phase is the same scope (notify "c:<id>") with the holdout
// still pending: the first phase's finalize sends its mass recipients and
// then, instead of finishing, enqueues JobWinner at StartedAt+WinnerAfter.
// That job picks the variant with the best lower bound of its Wilson 95 %
// interval of click-through (ties: the earlier variant), records it as
// Winner and enqueues the chunks again (phase 1): every recipient not yet
// done — exactly the holdout — gets the winner, through the same decide
// and the same notify lease, and the last chunk's finalize finishes the
// campaign. Every step may run twice: the outcome bits make each
// recipient's send happen once.
//
// Clicks per variant count tracked personal links (customer-service and
// template messages); a mass message's link is shared by its batch and
// counts in the campaign's total only.

// Variant is one version of a campaign's message: ItemID, or Title and
// Summary that replace the campaign item's own.
type Variant struct {
	ItemID  string `json:"item_id,omitempty"`
	Title   string `json:"title,omitempty"`
	Summary string `json:"summary,omitempty"`
}

// HoldoutShare is the share of a variant campaign's audience held back
// for the winner when WinnerAfter is set.
const HoldoutShare = 0.5

// MaxVariants is how many variants a campaign may have.
const MaxVariants = 5

// JobWinner picks a variant campaign's winner and sends it to the holdout.
const JobWinner = "campaign.winner"

// WaitWinner is why a variant campaign sends nothing between its test
// phase and its winner phase.
const WaitWinner = "ab_winner"

// Assign is the variant of subscriber id in c (-1: the holdout, which
// gets the winner). It is a pure function of the campaign and profile
// ids, so every replica and every rerun splits alike.
func (c *Campaign) Assign(id profile.ID) int {
	h := fnv.New64a()
	h.Write([]byte(c.Account + "|" + c.ID + "|" + strconv.FormatUint(id.Uint64(), 10)))
	x := h.Sum64()
	if c.WinnerAfter > 0 && float64(x%10000) < HoldoutShare*10000 {
		return -1
	}
	return int((x / 10000) % uint64(len(c.Variants)))
}

// variantIndex is the bitmap of the recipients of variant k (-1: the
// holdout).
func variantIndex(id string, k int) string {
	if k < 0 {
		return "c:" + id + ":hold"
	}
	return "c:" + id + ":v" + strconv.Itoa(k)
}

// variantMass is the mass key suffix of variant k's recipients.
const variantMass = "~v"

// massKey is the mass key of item it of variant k (k < 0: no variants).
func massKey(it *content.Item, k int) string {
	if k < 0 {
		return it.ID
	}
	return it.ID + variantMass + strconv.Itoa(k)
}

// variantItems loads the message of each variant of c: its item, or the
// campaign's item with the variant's title and summary.
func (e *Engine) variantItems(ctx context.Context, c *Campaign) ([]*content.Item, error) {
	out := make([]*content.Item, len(c.Variants))
	for k, v := range c.Variants {
		id := v.ItemID
		if id == "" {
			id = c.ItemID
		}
		it, err := e.cfg.Items.Item(ctx, c.Account, id)
		if err != nil {
			return nil, fmt.Errorf("campaign %s variant %d: %w", c.ID, k, err)
		}
		if v.ItemID == "" {
			cp := *it
			if v.Title != "" {
				cp.Title = v.Title
			}
			if v.Summary != "" {
				cp.Summary = v.Summary
			}
			it = &cp
		}
		out[k] = it
	}
	return out, nil
}

// validateVariants checks d's variants and winner_after into c, noting
// problems in fields (Chinese, for the organizer).
func (e *Engine) validateVariants(ctx context.Context, account string, d Draft, c *Campaign, fields map[string]string) {
	if d.WinnerAfter < 0 || (d.WinnerAfter > 0 && len(d.Variants) == 0) {
		fields["winner_after"] = "只有分组试发（至少两个版本）才能设定选出胜者的时间，且时间要大于零"
	}
	if len(d.Variants) == 0 {
		return
	}
	switch {
	case c.Mode != ModeItem:
		fields["variants"] = "分组试发要先选一条内容"
	case len(d.Variants) < 2 || len(d.Variants) > MaxVariants:
		fields["variants"] = fmt.Sprintf("分组试发要有 2 到 %d 个版本", MaxVariants)
	}
	for k, v := range d.Variants {
		v.ItemID, v.Title, v.Summary = strings.TrimSpace(v.ItemID), strings.TrimSpace(v.Title), strings.TrimSpace(v.Summary)
		switch {
		case v.ItemID != "" && v.Title+v.Summary != "":
			fields["variants"] = fmt.Sprintf("第 %d 个版本：选一条内容，或者写标题和摘要，不能都填", k+1)
		case v.ItemID != "":
			it, err := e.cfg.Items.Item(ctx, account, v.ItemID)
			if err != nil || it.Status != content.StatusPublished {
				fields["variants"] = fmt.Sprintf("第 %d 个版本：没有这条已发布的内容", k+1)
			}
		case v.Title == "" || len([]rune(v.Title)) > 64 || len([]rune(v.Summary)) > 120:
			fields["variants"] = fmt.Sprintf("第 %d 个版本：请写标题（最多 64 个字），摘要最多 120 个字", k+1)
		}
		c.Variants = append(c.Variants, v)
	}
	c.WinnerAfter = Seconds(d.WinnerAfter)
}

// Seconds is a duration that JSON shows as whole seconds.
type Seconds time.Duration

// MarshalJSON writes whole seconds.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return json.Marshal(int64(time.Duration(s) / time.Second))
}

// UnmarshalJSON reads seconds (a number) or a Go duration ("2h", "90m").
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		*s = Seconds(time.Duration(n * float64(time.Second)))
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return errors.New("时间要写成秒数或 \"2h\" 这样的时长")
	}
	d, err := time.ParseDuration(str)
	if err != nil {
		return errors.New("时间要写成秒数或 \"2h\" 这样的时长")
	}
	*s = Seconds(d)
	return nil
}

// VariantStats is one variant's result: its recipients sent to, their
// (tracked, per-subscriber) clicks, click-through and its Wilson 95 %
// interval.
type VariantStats struct {
	ItemID  string  `json:"item_id,omitempty"`
	Title   string  `json:"title,omitempty"`
	Sent    int64   `json:"sent"`
	Clicks  int64   `json:"clicks"`
	CTR     float64 `json:"ctr"`
	CILow   float64 `json:"ci_low"`
	CIHigh  float64 `json:"ci_high"`
	Winner  bool    `json:"winner,omitempty"`
	Holdout bool    `json:"holdout,omitempty"`
}

// Wilson is the Wilson score interval at 95 % of clicks out of sent
// (0, 0 for none sent).
func Wilson(clicks, sent int64) (low, high float64) {
	if sent <= 0 {
		return 0, 0
	}
	const z = 1.959963984540054
	n, p := float64(sent), float64(clicks)/float64(sent)
	den := 1 + z*z/n
	mid := (p + z*z/(2*n)) / den
	half := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n)) / den
	return max(0, mid-half), min(1, mid+half)
}

// variantStats counts each variant's recipients and clicks; the holdout
// (sent the winner) comes last when c has one.
func (e *Engine) variantStats(ctx context.Context, c *Campaign) ([]VariantStats, error) {
	if len(c.Variants) == 0 {
		return nil, nil
	}
	sc := scope(c)
	ks := make([]int, 0, len(c.Variants)+1)
	for k := range c.Variants {
		ks = append(ks, k)
	}
	if c.WinnerAfter > 0 {
		ks = append(ks, -1)
	}
	var out []VariantStats
	for _, k := range ks {
		counts, err := e.cfg.Profiles.Count(ctx, c.Account, profile.Term(variantIndex(c.ID, k)), []string{sc.SentIndex(), clickIndex(c.ID)}, nil)
		if err != nil {
			return nil, fmt.Errorf("campaign %s variant stats: %w", c.ID, err)
		}
		vs := VariantStats{Sent: counts.Rows[sc.SentIndex()], Clicks: counts.Rows[clickIndex(c.ID)], Holdout: k < 0}
		if k >= 0 {
			vs.ItemID, vs.Title = c.Variants[k].ItemID, c.Variants[k].Title
			vs.Winner = c.Winner != nil && *c.Winner == k
		}
		if vs.Sent > 0 {
			vs.CTR = float64(vs.Clicks) / float64(vs.Sent)
		}
		vs.CILow, vs.CIHigh = Wilson(vs.Clicks, vs.Sent)
		out = append(out, vs)
	}
	return out, nil
}

// bestVariant is the variant with the highest lower bound of its
// interval (ties: the earlier one).
func bestVariant(vs []VariantStats) int {
	best := 0
	for k, v := range vs {
		if !v.Holdout && v.CILow > vs[best].CILow {
			best = k
		}
	}
	return best
}

// awaitWinner, at the end of a variant campaign's test phase, schedules
// the winner job and says the campaign waits for it. It reports whether
// the campaign goes on (false: it has no winner phase, or had it).
func (e *Engine) awaitWinner(ctx context.Context, c *Campaign, ref jobRef) (bool, error) {
	if c.WinnerAfter <= 0 || ref.Phase > 0 || c.Winner != nil {
		return false, nil
	}
	at := c.CreatedAt
	if c.StartedAt != nil {
		at = *c.StartedAt
	}
	at = at.Add(time.Duration(c.WinnerAfter))
	if err := e.cfg.Store.setWaiting(ctx, c, Waiting{Reason: WaitWinner, Until: &at}); err != nil {
		return true, err
	}
	b, _ := json.Marshal(jobRef{Account: c.Account, ID: c.ID})
	j := queue.Job{ID: c.Account + ":" + c.ID + ":winner", Kind: JobWinner, Lane: queue.LaneBulk, Payload: b}
	if at.After(e.cfg.Now()) {
		return true, e.cfg.Queue(c.Account).EnqueueAt(ctx, at, j)
	}
	_, err := e.cfg.Queue(c.Account).EnqueueOnce(ctx, j, keepFor)
	return true, err
}

// winner picks the best variant and enqueues the winner phase's chunks.
func (e *Engine) winner(ctx context.Context, ref jobRef) error {
	c, _, err := e.runnable(ctx, ref)
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.Winner == nil {
		vs, err := e.variantStats(ctx, c)
		if err != nil {
			return err
		}
		best := bestVariant(vs)
		if c, err = e.cfg.Store.Update(ctx, c.Account, c.ID, func(c *Campaign) error {
			if c.Winner == nil {
				c.Winner = &best
			}
			return nil
		}); err != nil {
			return err
		}
		e.log.Info("campaign winner chosen", "campaign", c.ID, "account", c.Account, "variant", *c.Winner)
	}
	return e.enqueueChunks(ctx, c, 1)
}

// markArms records which variant (or the holdout) each member of a chunk
// was assigned, in the bitmaps the per-variant stats count.
func (e *Engine) markArms(ctx context.Context, c *Campaign, shard int, arms map[int][]int64) error {
	if len(arms) == 0 {
		return nil
	}
	changes := make([]profile.BitChange, 0, len(arms))
	for k, lids := range arms {
		changes = append(changes, profile.BitChange{Index: variantIndex(c.ID, k), Bit: 1, TTL: keepFor, Lids: lids})
	}
	if _, err := e.cfg.Profiles.SetBits(ctx, c.Account, shard, changes...); err != nil {
		return fmt.Errorf("campaign %s variants: %w", c.ID, err)
	}
	return nil
}

// asWinner is r as if variant k had won (the plan's estimate of the
// holdout before the winner is chosen).
func (r *rules) asWinner(k int) *rules {
	c := *r.c
	c.Winner = &k
	cp := *r
	cp.c = &c
	return &cp
}
