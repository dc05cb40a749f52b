package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// Channels a recipient can be reached by, as stats name them.
var channels = []string{"custom", "template", "mass"}

// Stats is a campaign's delivery log, counted from its bitmaps.
type Stats struct {
	Queued    int64            `json:"queued"`  // the audience at start
	Sent      int64            `json:"sent"`    // accepted by WeChat
	Failed    int64            `json:"failed"`  // refused for good, with reasons
	Skipped   int64            `json:"skipped"` // not sent by rule (caps, received, opted out...)
	Pending   int64            `json:"pending"` // still to go (or held by quiet hours)
	ByChannel map[string]int64 `json:"by_channel"`
	Clicks    int64            `json:"clicks"`
	Reasons   map[string]int64 `json:"reasons"`
	// WeChat is what WeChat reported for the campaign's mass sends
	// (MASSSENDJOBFINISH): total, filtered (over a user's monthly limit),
	// sent, error.
	WeChat  map[string]int64 `json:"wechat_report,omitempty"`
	ByTown  map[string]int64 `json:"sent_by_town,omitempty"`
	ByGroup map[string]int64 `json:"sent_by_group,omitempty"`
}

// Stats counts a campaign's outcomes in one pass over its bitmaps. towns
// and groups (ids, may be nil) break the sent count down.
func (e *Engine) Stats(ctx context.Context, c *Campaign, towns, groups []string) (Stats, error) {
	st := Stats{Queued: c.Planned, ByChannel: map[string]int64{}}
	rows := []string{sentIndex(c.ID), failedIndex(c.ID), skippedIndex(c.ID), clickIndex(c.ID)}
	for _, ch := range channels {
		rows = append(rows, channelIndex(c.ID, ch))
	}
	counts, err := e.cfg.Profiles.Count(ctx, c.Account, profile.Term(audIndex(c.ID)), rows, nil)
	if err != nil {
		return st, err
	}
	st.Sent, st.Failed, st.Skipped, st.Clicks = counts.Rows[rows[0]], counts.Rows[rows[1]], counts.Rows[rows[2]], counts.Rows[rows[3]]
	for i, ch := range channels {
		st.ByChannel[ch] = counts.Rows[rows[4+i]]
	}
	st.Pending = max(st.Queued-st.Sent-st.Failed-st.Skipped, 0)
	massClicks, _ := e.cfg.Store.rdb.Get(ctx, campKey(c.Account, c.ID)+":massclicks").Int64()
	st.Clicks += massClicks
	if st.Reasons, err = e.cfg.Store.Reasons(ctx, c.Account, c.ID); err != nil {
		return st, err
	}
	if st.WeChat, err = e.cfg.Store.WeChatCounts(ctx, c.Account, c.ID); err != nil {
		return st, err
	}
	if len(towns)+len(groups) > 0 {
		var dims []string
		for _, t := range towns {
			dims = append(dims, profile.TownIndex(t))
		}
		for _, g := range groups {
			dims = append(dims, profile.GroupIndex(g))
		}
		bd, err := e.cfg.Profiles.Count(ctx, c.Account, profile.Term(sentIndex(c.ID)), dims, nil)
		if err != nil {
			return st, err
		}
		st.ByTown, st.ByGroup = map[string]int64{}, map[string]int64{}
		for _, t := range towns {
			st.ByTown[t] = bd.Rows[profile.TownIndex(t)]
		}
		for _, g := range groups {
			st.ByGroup[g] = bd.Rows[profile.GroupIndex(g)]
		}
	}
	return st, nil
}

// Totals is what a list shows of a started campaign: how many were sent
// the message and how many clicked it (Stats' Sent and Clicks).
type Totals struct {
	Sent   int64 `json:"sent"`
	Clicks int64 `json:"clicks"`
}

// Totals reads the sent and click counts of many campaigns of account at
// once: two BITCOUNTs per campaign and shard and a GET of its mass
// clicks, in two pipelines. A campaign's sent and click bitmaps only ever
// hold its audience, so these are Stats' numbers without its
// intersections, breakdowns and reasons, which a list does not show.
func (e *Engine) Totals(ctx context.Context, account string, ids []string) ([]Totals, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var names []string
	for _, id := range ids {
		names = append(names, sentIndex(id), clickIndex(id))
	}
	counts, err := e.cfg.Profiles.BitCounts(ctx, account, names)
	if err != nil {
		return nil, err
	}
	mass := make([]*redis.StringCmd, len(ids))
	if _, err := e.cfg.Store.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range ids {
			mass[i] = pipe.Get(ctx, campKey(account, id)+":massclicks")
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("mass clicks: %w", err)
	}
	out := make([]Totals, len(ids))
	for i, id := range ids {
		n, _ := mass[i].Int64() // redis.Nil: no mass clicks
		out[i] = Totals{Sent: counts[sentIndex(id)], Clicks: counts[clickIndex(id)] + n}
	}
	return out, nil
}

// Click records a click on a tracked link and returns where it leads. A
// subscriber's click raises their interest in the item's topics.
func (e *Engine) Click(ctx context.Context, token string) (string, error) {
	cl, err := e.cfg.Links.Parse(token)
	if err != nil {
		return "", err
	}
	it, err := e.sentItem(ctx, cl) // the version sent; retired: *WithdrawnError
	if err != nil {
		return "", err
	}
	// A campaign that has not started sent no link: this one was copied
	// from a preview (Plan, Render). It leads on but counts nothing.
	if c, err := e.cfg.Store.Get(ctx, cl.Account, cl.Campaign); err != nil || c.StartedAt == nil {
		return it.URL, err
	}
	if cl.ID == nil {
		e.cfg.Store.rdb.Incr(ctx, campKey(cl.Account, cl.Campaign)+":massclicks")
		return it.URL, nil
	}
	old, err := e.cfg.Profiles.SetBits(ctx, cl.Account, cl.ID.Shard, profile.BitChange{Index: clickIndex(cl.Campaign), Bit: 1, TTL: keepFor, Lids: []int64{cl.ID.Local}})
	if err != nil || old[0] {
		return it.URL, err // counted once per subscriber and campaign
	}
	ms, err := e.cfg.Profiles.Members(ctx, cl.Account, cl.ID.Shard, []int64{cl.ID.Local})
	if err != nil || len(ms) == 0 {
		return it.URL, err
	}
	err = e.cfg.Profiles.Update(ctx, cl.Account, ms[0].OpenID, func(p *profile.Profile) (*profile.Profile, error) {
		if p == nil {
			return nil, nil
		}
		p.DecayInterests(e.cfg.Now())
		for _, t := range it.Topics {
			p.AddInterestWeight(t, clickBoost)
		}
		return p, nil
	})
	return it.URL, err
}

// clickBoost is how much a click raises interest in the item's topics.
const clickBoost = 30

// PlanReport is a campaign's dry run: who would get what, by which channel.
type PlanReport struct {
	Audience    int64            `json:"audience"`
	Sampled     int              `json:"sampled"`
	ByChannel   map[string]int64 `json:"by_channel"`  // estimated over the audience
	Unreachable map[string]int64 `json:"unreachable"` // estimated, by reason
	Sample      []PlanLine       `json:"sample"`
}

// PlanLine is one sampled recipient's plan.
type PlanLine struct {
	OpenID  string `json:"openid"`
	Group   string `json:"group"`
	Town    string `json:"town"`
	Item    string `json:"item_id,omitempty"`
	Title   string `json:"title,omitempty"`
	Channel string `json:"channel,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Message is what their phone would show (Render).
	Message *Message `json:"message,omitempty"`
}

// maxSample bounds a dry run's work: up to this many subscribers are
// planned, and the counts are scaled to the whole audience.
const maxSample = 5000

// Plan dry-runs c now: nothing is sent or recorded.
func (e *Engine) Plan(ctx context.Context, c *Campaign, show int) (PlanReport, error) {
	now := e.cfg.Now()
	rep := PlanReport{ByChannel: map[string]int64{}, Unreachable: map[string]int64{}}
	prog, err := e.cfg.Compile(c.Audience, now)
	if err != nil {
		return rep, err
	}
	tmp := "c:" + c.ID + ":preview"
	counts, err := e.cfg.Profiles.Materialize(ctx, c.Account, profile.And(prog, profile.Reachable()), tmp, 10*time.Minute)
	if err != nil {
		return rep, err
	}
	rep.Audience = counts.Total
	var item *content.Item
	var picker *plan.Picker
	if c.Mode == ModeItem {
		if item, err = e.cfg.Items.Item(ctx, c.Account, c.ItemID); err != nil {
			return rep, err
		}
	} else if _, picker, err = e.picker(ctx, c.Account, now); err != nil {
		return rep, err
	}
	kind := plan.KindContent
	if c.Notice {
		kind = plan.KindNotice
	}
	rules := e.cfg.Rules(c.Account)
	perShard := maxSample/profile.Shards + 1
	for shard := range profile.Shards {
		max, err := e.cfg.Profiles.MaxLocal(ctx, c.Account, shard)
		if err != nil {
			return rep, err
		}
		var lids []int64
		for from := int64(0); from <= max && len(lids) < perShard; from += chunkSize {
			bits, err := e.cfg.Profiles.Bits(ctx, c.Account, shard, []string{tmp}, from, chunkSize)
			if err != nil {
				return rep, err
			}
			for i := int64(0); i < chunkSize && len(lids) < perShard; i++ {
				if profile.BitSet(bits[0], i) {
					lids = append(lids, from+i)
				}
			}
		}
		ms, err := e.cfg.Profiles.Members(ctx, c.Account, shard, lids)
		if err != nil {
			return rep, err
		}
		for _, m := range ms {
			rep.Sampled++
			line := PlanLine{OpenID: m.OpenID, Group: m.Profile.Group, Town: m.Profile.Town}
			it := item
			if picker != nil {
				it, _, _ = picker.Pick(m.Profile, func(string) bool { return false }, nil)
			}
			if it == nil || (c.Mode == ModeItem && !deliverable(it, now)) {
				line.Reason = "no_item"
			} else {
				line.Item, line.Title = it.ID, it.Title
				d := plan.Choose(m.Profile, kind, rules, plan.Options{}, now)
				if d.Channel == plan.ChannelNone {
					line.Reason = d.Reason.String()
				} else {
					line.Channel = channelName(d.Channel)
				}
			}
			if line.Channel != "" {
				rep.ByChannel[line.Channel]++
			} else {
				rep.Unreachable[line.Reason]++
			}
			if len(rep.Sample) < show {
				if line.Channel != "" {
					line.Message = e.Render(c, it, m, line.Channel)
				}
				rep.Sample = append(rep.Sample, line)
			}
		}
	}
	if rep.Sampled > 0 {
		scale := float64(rep.Audience) / float64(rep.Sampled)
		for k, v := range rep.ByChannel {
			rep.ByChannel[k] = int64(float64(v)*scale + 0.5)
		}
		for k, v := range rep.Unreachable {
			rep.Unreachable[k] = int64(float64(v)*scale + 0.5)
		}
	}
	return rep, nil
}

func channelName(ch plan.Channel) string {
	switch ch {
	case plan.ChannelCustom:
		return "custom"
	case plan.ChannelTemplate:
		return "template"
	case plan.ChannelSubscribe:
		return "subscribe"
	case plan.ChannelMass:
		return "mass"
	}
	return strings.ToLower(fmt.Sprint(ch))
}

var _ = errors.New
