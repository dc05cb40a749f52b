package campaign

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
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
	// Unreachable is Skipped under its truthful name: not sent by rule.
	// Sent + Failed + Unreachable + Pending = Queued.
	Unreachable int64 `json:"unreachable"`
	// InFlight is how many messages are being sent now (or were, by a run
	// that died: they are sent again once its lease expires).
	InFlight int64 `json:"in_flight"`
	// InDoubtResent counts customer-service messages sent again because a
	// crash left their first send's fate unknown: each may have reached
	// the phone twice (see notify).
	InDoubtResent int64 `json:"in_doubt_resent"`
	// Waiting says why nothing is sent now, and until when.
	Waiting *Waiting `json:"waiting,omitempty"`
	// WeChat is what WeChat reported for the campaign's mass sends
	// (MASSSENDJOBFINISH): total, filtered (over a user's monthly limit),
	// sent, error.
	WeChat map[string]int64 `json:"wechat_report,omitempty"`
	// MassCalls counts the campaign's mass-send calls by whom they
	// addressed: "openids" (lists of up to 10,000), "tag", "all".
	MassCalls map[string]int64 `json:"mass_calls"`
	ByTown    map[string]int64 `json:"sent_by_town,omitempty"`
	ByGroup   map[string]int64 `json:"sent_by_group,omitempty"`
	// Variants is each variant's result (an A/B campaign), then the
	// holdout's (sent the winner) when it has one: variants.go.
	Variants []VariantStats `json:"variants,omitempty"`
}

// Stats counts a campaign's outcomes in one pass over its bitmaps. towns
// and groups (ids, may be nil) break the sent count down.
func (e *Engine) Stats(ctx context.Context, c *Campaign, towns, groups []string) (Stats, error) {
	st := Stats{Queued: c.Planned, ByChannel: map[string]int64{}}
	sc := scope(c)
	rows := []string{sc.SentIndex(), sc.FailedIndex(), sc.SkippedIndex(), clickIndex(c.ID), sc.FlightIndex()}
	for _, ch := range channels {
		rows = append(rows, sc.ChannelIndex(ch))
	}
	counts, err := e.cfg.Profiles.Count(ctx, c.Account, profile.Term(audIndex(c.ID)), rows, nil)
	if err != nil {
		return st, err
	}
	st.Sent, st.Failed, st.Skipped, st.Clicks = counts.Rows[rows[0]], counts.Rows[rows[1]], counts.Rows[rows[2]], counts.Rows[rows[3]]
	for i, ch := range channels {
		st.ByChannel[ch] = counts.Rows[rows[5+i]]
	}
	st.Unreachable = st.Skipped
	st.Pending = max(st.Queued-st.Sent-st.Failed-st.Skipped, 0)
	st.InFlight = min(counts.Rows[rows[4]], st.Pending)
	st.Waiting = c.Waiting
	massClicks, _ := e.cfg.Store.rdb.Get(ctx, massClicksKey(c.Account, c.ID)).Int64()
	st.Clicks += massClicks
	if st.Reasons, err = e.notify.Reasons(ctx, sc); err != nil {
		return st, err
	}
	st.InDoubtResent = st.Reasons[notify.ReasonInDoubtResent]
	if st.WeChat, err = e.cfg.Store.WeChatCounts(ctx, c.Account, c.ID); err != nil {
		return st, err
	}
	if st.MassCalls, err = e.cfg.Store.massCalls(ctx, c.Account, c.ID); err != nil {
		return st, err
	}
	if st.Variants, err = e.variantStats(ctx, c); err != nil {
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
		bd, err := e.cfg.Profiles.Count(ctx, c.Account, profile.Term(sc.SentIndex()), dims, nil)
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
		names = append(names, scope(&Campaign{Account: account, ID: id}).SentIndex(), clickIndex(id))
	}
	counts, err := e.cfg.Profiles.BitCounts(ctx, account, names)
	if err != nil {
		return nil, err
	}
	mass := make([]*redis.StringCmd, len(ids))
	if _, err := e.cfg.Store.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range ids {
			mass[i] = pipe.Get(ctx, massClicksKey(account, id))
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("mass clicks: %w", err)
	}
	out := make([]Totals, len(ids))
	for i, id := range ids {
		n, _ := mass[i].Int64() // redis.Nil: no mass clicks
		out[i] = Totals{Sent: counts[scope(&Campaign{Account: account, ID: id}).SentIndex()], Clicks: counts[clickIndex(id)] + n}
	}
	return out, nil
}

// Click records a click on a tracked link and returns where it leads. A
// subscriber's click raises their interest in the item's topics and the
// item's popularity among subscribers of their group. A link from a chat
// search's answer (SearchCampaign) teaches the same and counts in no
// campaign.
func (e *Engine) Click(ctx context.Context, token string) (string, error) {
	cl, err := e.cfg.Links.Parse(token)
	if err != nil {
		return "", err
	}
	it, err := e.sentItem(ctx, cl) // the version sent; retired: *WithdrawnError
	if err != nil {
		return "", err
	}
	if cl.Campaign == SearchCampaign {
		if cl.ID == nil {
			return it.URL, nil
		}
		return it.URL, e.learn(ctx, cl, it, searchOpenBoost)
	}
	// A campaign that has not started sent no link: this one was copied
	// from a preview (Plan, Render). It leads on but counts nothing.
	if c, err := e.cfg.Store.Get(ctx, cl.Account, cl.Campaign); err != nil || c.StartedAt == nil {
		return it.URL, err
	}
	if cl.ID == nil {
		e.cfg.Store.rdb.Incr(ctx, massClicksKey(cl.Account, cl.Campaign))
		return it.URL, e.learnMass(ctx, cl, it)
	}
	old, err := e.cfg.Profiles.SetBits(ctx, cl.Account, cl.ID.Shard, profile.BitChange{Index: clickIndex(cl.Campaign), Bit: 1, TTL: keepFor, Lids: []int64{cl.ID.Local}})
	if err != nil || old[0] {
		return it.URL, err // counted once per subscriber and campaign
	}
	return it.URL, e.learn(ctx, cl, it, clickBoost)
}

// learn raises the clicking subscriber's interest in it's topics by boost
// (after the time decay; profile.CreditTopics shares it out), notes the
// time of day they read at (best_hour), and counts the click in the
// item's popularity among their group.
func (e *Engine) learn(ctx context.Context, cl Click, it *content.Item, boost int) error {
	ms, err := e.cfg.Profiles.Members(ctx, cl.Account, cl.ID.Shard, []int64{cl.ID.Local})
	if err != nil || len(ms) == 0 {
		return err
	}
	var group string
	now := e.cfg.Now()
	err = e.cfg.Profiles.Update(ctx, cl.Account, ms[0].OpenID, func(p *profile.Profile) (*profile.Profile, error) {
		if p == nil {
			return nil, nil
		}
		group = p.Group
		p.DecayInterests(now)
		p.CreditTopics(it.Topics, boost)
		p.Reading.Note(now)
		return p, nil
	})
	if err != nil {
		return err
	}
	if err := e.cfg.Store.rdb.HIncrByFloat(ctx, popKey(cl.Account), popField(group, it.ID), 1).Err(); err != nil {
		return fmt.Errorf("count popularity: %w", err)
	}
	return nil
}

// SearchCampaign is the campaign id in the tracked links of a chat
// search's answer (SearchURL): a click on one teaches interest but is no
// campaign's.
const SearchCampaign = "search"

// SearchURL returns the tracked link to it for the subscriber id from a
// chat search's answer.
func (e *Engine) SearchURL(account string, it *content.Item, id profile.ID) string {
	return e.cfg.Links.ItemURL(account, SearchCampaign, it.ID, it.Version, &id)
}

// How much a click raises interest in the item's topics (of WeightMax
// 255): a click on a pushed link more than opening a search result, as
// the resident chose the search's topic already (the query raised it).
// A click outweighs a group and a town match together (plan's weights).
const (
	clickBoost      = 40
	searchOpenBoost = 30
)

// popularity reads the clicks by group and item of account as plan's
// shares: each group's most-clicked item is 1.
func (e *Engine) popularity(ctx context.Context, account string) (plan.Popularity, error) {
	h, err := e.cfg.Store.rdb.HGetAll(ctx, popKey(account)).Result()
	if err != nil {
		return nil, fmt.Errorf("read popularity: %w", err)
	}
	counts := map[string]map[string]float64{}
	most := map[string]float64{}
	for f, v := range h {
		group, item, ok := strings.Cut(f, "|")
		n, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			continue
		}
		if counts[group] == nil {
			counts[group] = map[string]float64{}
		}
		counts[group][item] = n
		most[group] = max(most[group], n)
	}
	pop := plan.Popularity{}
	for g, m := range counts {
		pop[g] = map[string]float64{}
		for id, n := range m {
			pop[g][id] = n / most[g]
		}
	}
	return pop, nil
}
