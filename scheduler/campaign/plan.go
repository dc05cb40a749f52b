package campaign

import (
	"context"
	"slices"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// PlanReport is a campaign's dry run: who would get what, by which channel.
type PlanReport struct {
	Audience    int64            `json:"audience"`
	Sampled     int              `json:"sampled"`
	ByChannel   map[string]int64 `json:"by_channel"`  // estimated over the audience
	Unreachable map[string]int64 `json:"unreachable"` // estimated, by reason
	Sample      []PlanLine       `json:"sample"`
	// Waiting says why a send started now would wait, and until when.
	Waiting *Waiting `json:"waiting,omitempty"`
	// MassCalls estimates the mass-send calls the send would make, by
	// whom they address ("all", "tag", "openids"), by notify's rule: a
	// group in one call when all its members would be sent the same item
	// by mass send, the rest in lists of 10,000.
	MassCalls map[string]int64 `json:"mass_calls"`
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
	// Why is why that item: its score for the recipient, the expected
	// click probability and the factors, largest first (plan.Explain).
	Why *plan.Explanation `json:"why,omitempty"`
}

// maxSample bounds a dry run's work: up to this many subscribers are
// planned, and the counts are scaled to the whole audience.
const maxSample = 5000

// Plan dry-runs c now: the send's own decision (rules.decide) over the
// same bitmaps — caps, received items, opted-out topics, windows, budgets,
// WeChat's configuration — for up to maxSample subscribers; nothing is
// sent or recorded. What it cannot know ahead is WeChat's answer (a
// window WeChat closed early, an unfollow).
func (e *Engine) Plan(ctx context.Context, c *Campaign, show int) (PlanReport, error) {
	now := e.cfg.Now()
	rep := PlanReport{ByChannel: map[string]int64{}, Unreachable: map[string]int64{}}
	if !c.Urgent && e.cfg.Quiet.Contains(now, e.cfg.Loc) {
		until := e.cfg.Quiet.NextOpen(now, e.cfg.Loc)
		rep.Waiting = &Waiting{Reason: WaitQuietHours, Until: &until}
	}
	prog, err := e.audience(c, now)
	if err != nil {
		return rep, err
	}
	tmp := previewIndex(c.ID)
	counts, err := e.cfg.Profiles.Materialize(ctx, c.Account, profile.And(prog, profile.Reachable()), tmp, 10*time.Minute)
	if err != nil {
		return rep, err
	}
	rep.Audience = counts.Total
	r, err := e.loadRules(ctx, c, now)
	if err != nil {
		return rep, err
	}
	massByItem := map[string]int{}
	groups, err := e.notify.Groups(ctx, c.Account)
	if err != nil {
		return rep, err
	}
	gs := newGroupSample(groups)
	perShard := maxSample/profile.Shards + 1
	for shard := range profile.Shards {
		max, err := e.cfg.Profiles.MaxLocal(ctx, c.Account, shard)
		if err != nil {
			return rep, err
		}
		taken := 0
		for from := int64(0); from <= max && taken < perShard; from += chunkSize {
			v, err := e.readView(ctx, r, tmp, shard, from)
			if err != nil {
				return rep, err
			}
			var lids []int64
			for i := int64(0); i < chunkSize && taken+len(lids) < perShard; i++ {
				if profile.BitSet(v.aud, i) {
					lids = append(lids, from+i)
				}
			}
			taken += len(lids)
			ms, err := e.cfg.Profiles.Members(ctx, c.Account, shard, lids)
			if err != nil {
				return rep, err
			}
			var gbits [][]byte
			if len(groups) > 0 {
				if gbits, err = e.cfg.Profiles.Bits(ctx, c.Account, shard, gs.indexes(), from, chunkSize); err != nil {
					return rep, err
				}
			}
			for _, m := range ms {
				rep.Sampled++
				vd := r.decide(m, v, m.ID.Local-from, e.cfg.Caps, false)
				if vd.held {
					// The holdout will get the winner, not known yet: it
					// is estimated with the first variant, reason ab_holdout.
					vd = r.asWinner(0).decide(m, v, m.ID.Local-from, e.cfg.Caps, false)
					if vd.channel != plan.ChannelNone {
						vd.reason = "ab_holdout"
					}
				}
				line := PlanLine{OpenID: m.OpenID, Group: m.Profile.Group, Town: m.Profile.Town, Reason: vd.reason}
				if vd.item != nil {
					line.Item, line.Title = vd.item.ID, vd.item.Title
				}
				item := ""
				if vd.channel == plan.ChannelMass {
					item = vd.item.ID
				}
				gs.add(gbits, m.ID.Local-from, item)
				if vd.channel != plan.ChannelNone {
					line.Channel = vd.channel.String()
					rep.ByChannel[line.Channel]++
					if vd.channel == plan.ChannelMass {
						massByItem[vd.item.ID]++
					}
				} else {
					rep.Unreachable[line.Reason]++
				}
				if len(rep.Sample) < show {
					if line.Channel != "" {
						line.Message = e.Render(c, vd.item, m, line.Channel)
					}
					if vd.item != nil {
						line.Why = r.explain(m.Profile, vd.item)
					}
					rep.Sample = append(rep.Sample, line)
				}
			}
		}
	}
	if int64(rep.Sampled) >= rep.Audience {
		// Every recipient was planned: a lone mass recipient of an item is
		// skipped by the send (WeChat's lists take two or more).
		for _, n := range massByItem {
			if n == 1 {
				rep.ByChannel["mass"]--
				rep.Unreachable["mass_batch_of_one"]++
			}
		}
		if rep.ByChannel["mass"] == 0 {
			delete(rep.ByChannel, "mass")
		}
	}
	scale := 1.0
	if rep.Sampled > 0 && int64(rep.Sampled) < rep.Audience {
		scale = float64(rep.Audience) / float64(rep.Sampled)
		for k, v := range rep.ByChannel {
			rep.ByChannel[k] = int64(float64(v)*scale + 0.5)
		}
		for k, v := range rep.Unreachable {
			rep.Unreachable[k] = int64(float64(v)*scale + 0.5)
		}
	}
	rep.MassCalls, err = e.planMassCalls(ctx, c.Account, tmp, gs, massByItem, scale)
	return rep, err
}

// groupSample is what a dry run saw of each mass group: how many sampled
// members it has, and the one item all of them would be sent by mass send
// ("" none or several: the group is not used).
type groupSample struct {
	groups  []notify.Group
	sampled []int
	item    []string
	mixed   []bool
	overlap [][]bool // overlap[a][b]: a sampled member is in both
}

func newGroupSample(groups []notify.Group) *groupSample {
	g := &groupSample{groups: groups, sampled: make([]int, len(groups)), item: make([]string, len(groups)),
		mixed: make([]bool, len(groups)), overlap: make([][]bool, len(groups))}
	for i := range groups {
		g.overlap[i] = make([]bool, len(groups))
	}
	return g
}

func (g *groupSample) indexes() []string {
	out := make([]string, len(g.groups))
	for i, gr := range g.groups {
		out[i] = gr.Index
	}
	return out
}

// add notes a sampled member (bit i of bits) planned for a mass send of
// item ("" not by mass send).
func (g *groupSample) add(bits [][]byte, i int64, item string) {
	for a := range g.groups {
		if !profile.BitSet(bits[a], i) {
			continue
		}
		g.sampled[a]++
		switch {
		case item == "" || (g.item[a] != "" && g.item[a] != item):
			g.mixed[a] = true
		default:
			g.item[a] = item
		}
		for b := range g.groups {
			if b != a && profile.BitSet(bits[b], i) {
				g.overlap[a][b] = true
			}
		}
	}
}

// planMassCalls applies notify's group rule to what the dry run saw: a
// group is used when it lies inside the audience and every sampled member
// of it would be sent one item by mass send; larger groups first (everyone
// before tags), none overlapping another; each item's other mass
// recipients go in lists of 10,000.
func (e *Engine) planMassCalls(ctx context.Context, account, audience string, g *groupSample, massByItem map[string]int, scale float64) (map[string]int64, error) {
	out := map[string]int64{}
	covered := map[string]int64{}
	if len(g.groups) > 0 {
		size, err := e.cfg.Profiles.BitCounts(ctx, account, g.indexes())
		if err != nil {
			return nil, err
		}
		inside, err := e.cfg.Profiles.Count(ctx, account, profile.Term(audience), g.indexes(), nil)
		if err != nil {
			return nil, err
		}
		order := make([]int, 0, len(g.groups))
		for a, gr := range g.groups {
			n := size[gr.Index]
			if n > 0 && inside.Rows[gr.Index] == n && g.sampled[a] > 0 && !g.mixed[a] {
				order = append(order, a)
			}
		}
		slices.SortStableFunc(order, func(a, b int) int { return int(size[g.groups[b].Index] - size[g.groups[a].Index]) })
		var chosen []int
	next:
		for _, a := range order {
			for _, b := range chosen {
				if g.overlap[a][b] {
					continue next
				}
			}
			chosen = append(chosen, a)
			if g.groups[a].All {
				out[notify.ToAll]++
			} else {
				out[notify.ToTag]++
			}
			covered[g.item[a]] += size[g.groups[a].Index]
		}
	}
	for item, n := range massByItem {
		rest := int64(float64(n)*scale+0.5) - covered[item]
		if rest >= wechat.MassMinOpenIDs {
			out[notify.ToOpenIDs] += (rest + wechat.MassMaxOpenIDs - 1) / wechat.MassMaxOpenIDs
		}
	}
	return out, nil
}
