package campaign

import (
	"context"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
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
			for _, m := range ms {
				rep.Sampled++
				vd := r.decide(m, v, m.ID.Local-from, e.cfg.Caps, false)
				line := PlanLine{OpenID: m.OpenID, Group: m.Profile.Group, Town: m.Profile.Town, Reason: vd.reason}
				if vd.item != nil {
					line.Item, line.Title = vd.item.ID, vd.item.Title
				}
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
	if rep.Sampled > 0 && int64(rep.Sampled) < rep.Audience {
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
