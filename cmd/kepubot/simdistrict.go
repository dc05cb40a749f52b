package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// simDistrict makes o.Residents residents: towns and groups at random, one
// hidden interest (a second one sometimes) among their group's topics
// that the library covers, with --send-time a hidden reading hour, the
// arms dealt in turn so each has the same make-up on average. It saves
// the QR scenes they follow through.
func simDistrict(ctx context.Context, app *App, rng *rand.Rand, o simOptions, perTopic map[string]int, now time.Time) ([]*simResident, error) {
	groups := []string{"farmer", "farmer", "farmer", "resident", "resident", "worker", "worker", "youth", "official"}
	towns := []string{"licheng", "zengjiang", "zhucun", "yongning", "ningxi", "xintang", "shitan", "zhongxin", "zhengguo", "paitan", "xiaolou", "xiancun"}
	arms := o.arms()
	saved := map[string]bool{}
	var out []*simResident
	for i := range o.Residents {
		r := &simResident{openID: fmt.Sprintf("oSim%024d", i), arm: arms[i%len(arms)],
			group: groups[rng.IntN(len(groups))], town: towns[rng.IntN(len(towns))]}
		r.source = "sim-" + r.arm
		if r.arm == "random" {
			r.source = fmt.Sprintf("sim-random-%d", (i/len(arms))%simRandomCohorts)
		}
		g, ok := app.tax.Group(r.group)
		if !ok {
			return nil, fmt.Errorf("simulate: taxonomy has no group %s", r.group)
		}
		var pool []string
		for _, t := range g.Topics {
			if perTopic[t] >= simMinItems*o.Library {
				pool = append(pool, t)
			}
		}
		for len(pool) > 0 && (len(r.likes) == 0 || len(r.likes) == 1 && rng.Float64() < simSecondLike) {
			k := rng.IntN(len(pool))
			r.likes = append(r.likes, pool[k])
			pool = slices.Delete(pool, k, k+1)
		}
		if o.SendTime {
			r.hour = simHours[rng.IntN(len(simHours))]
		}
		if sc := simScene(r); !saved[sc] {
			if _, ok := app.tax.Town(r.town); !ok {
				return nil, fmt.Errorf("simulate: taxonomy has no town %s", r.town)
			}
			err := app.scenes.Save(ctx, app.cfg.WeChat.ID, qrcode.Scene{Scene: sc, Group: r.group, Town: r.town, Source: r.source, CreatedAt: now})
			if err != nil {
				return nil, err
			}
			saved[sc] = true
		}
		out = append(out, r)
	}
	return out, nil
}

func simScene(r *simResident) string { return r.source + "-" + r.group + "-" + r.town }

// simRandomCohorts is how many cohorts the random arm is dealt into, each
// sent its own random item: the arm's click-through is then an average
// over several items, not the luck of one.
const simRandomCohorts = 8

// chat is a resident's message before a push: a search for something they
// like (opening a result that matches, sometimes), or a look at their
// settings. Either opens their 48-hour window.
func (s *simEnv) chat(ctx context.Context, r *simResident) error {
	if len(r.likes) == 0 || s.rng.Float64() >= simSearchRate {
		_, err := s.phone.Text(ctx, r.openID, "我的")
		return err
	}
	topic := r.likes[s.rng.IntN(len(r.likes))]
	term, ok := s.app.tax.Topic(topic)
	if !ok {
		return fmt.Errorf("simulate: taxonomy has no topic %s", topic)
	}
	reply, err := s.phone.Text(ctx, r.openID, term.Name)
	if err != nil {
		return err
	}
	for _, a := range reply.Articles {
		if it := s.byID[simLinkItem(a.URL)]; it != nil && simLikes(r, it) {
			if s.rng.Float64() < simOpenResult {
				return s.open(ctx, a.URL)
			}
			return nil
		}
	}
	return nil
}

// simLikes reports whether it is about a topic r likes.
func simLikes(r *simResident, it *content.Item) bool {
	return slices.ContainsFunc(it.Topics, func(t string) bool { return slices.Contains(r.likes, t) })
}

// simClickProb is the click model: how likely r opens a push of it.
func simClickProb(r *simResident, it *content.Item) float64 {
	switch {
	case simLikes(r, it):
		return simClickLiked
	case slices.Contains(it.Groups, r.group):
		return simClickGroup
	case len(it.Groups) == 0:
		return simClickAll
	}
	return simClickOthers
}

// simLinkItem reads the item id from a tracked link (its token's payload
// is account|campaign|item|...): what the resident sees as the title.
func simLinkItem(link string) string {
	_, tok, ok := strings.Cut(link, "/r/")
	if !ok {
		return ""
	}
	payload, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	f := strings.Split(string(b), "|")
	if len(f) < 3 {
		return ""
	}
	return f[2]
}

// simTwins adds copies-1 synthetic twins of each sample item to the
// library, published: the same topics, audience, season and priority, the
// title and link marked as the k-th of its kind. They stand for the
// further items on the same subjects a district's library has (hundreds,
// not the 78 samples), so that four weeks of one push a week do not use up
// a resident's interest; they say nothing new to a resident, only that
// there is more to read.
func simTwins(ctx context.Context, app *App, items []*content.Item, copies int) error {
	for k := 2; k <= copies; k++ {
		for _, it := range items {
			tw := *it
			tw.ID, tw.Version = "", 0
			tw.ExternalID = fmt.Sprintf("%s-twin%d", it.ExternalID, k)
			tw.Title = fmt.Sprintf("%s（%d）", it.Title, k)
			tw.URL = fmt.Sprintf("%s?twin=%d", it.URL, k)
			if _, _, err := app.content.UpsertItem(ctx, app.cfg.WeChat.ID, tw, "simulate", true); err != nil {
				return fmt.Errorf("simulate: twin of %s: %w", it.ExternalID, err)
			}
		}
	}
	return nil
}

// simCampaigns creates one push round through the campaign service: the
// personalized arm's campaign, per group the group arm's (the best item
// for the group, as the scoring picks it for a subscriber of whom only the
// group is known), and per random cohort a random item; never an item the
// group or cohort got before. The caller starts them.
func simCampaigns(ctx context.Context, app *App, rng *rand.Rand, items []*content.Item, sentTo map[string]map[string]bool, now time.Time, loc *time.Location) ([]*campaign.Campaign, error) {
	drafts := []campaign.Draft{{Name: "sim-personalized", Audience: "source:sim-personalized", Mode: campaign.ModePersonalized}}
	pk := plan.NewPicker(items, loc, now)
	unsent := func(key string) []*content.Item {
		if sentTo[key] == nil {
			sentTo[key] = map[string]bool{}
		}
		var left []*content.Item
		for _, x := range items {
			if !sentTo[key][x.ID] {
				left = append(left, x)
			}
		}
		return left
	}
	for _, g := range []string{"farmer", "resident", "worker", "youth", "official"} {
		key := "group|" + g
		unsent(key)
		it, _, ok := pk.Pick(&profile.Profile{Group: g, Subscribed: true}, func(id string) bool { return sentTo[key][id] }, nil)
		if !ok {
			continue
		}
		sentTo[key][it.ID] = true
		drafts = append(drafts, campaign.Draft{Name: "sim-group-" + g, Audience: "source:sim-group & group:" + g, ItemID: it.ID})
	}
	for k := range simRandomCohorts {
		key := fmt.Sprintf("random|%d", k)
		left := unsent(key)
		if len(left) == 0 {
			continue
		}
		it := left[rng.IntN(len(left))]
		sentTo[key][it.ID] = true
		drafts = append(drafts, campaign.Draft{Name: fmt.Sprintf("sim-random-%d", k), Audience: fmt.Sprintf("source:sim-random-%d", k), ItemID: it.ID})
	}
	return simCreate(ctx, app, drafts)
}

// simCreate creates the drafts' campaigns.
func simCreate(ctx context.Context, app *App, drafts []campaign.Draft) ([]*campaign.Campaign, error) {
	var out []*campaign.Campaign
	for _, d := range drafts {
		c, err := app.delivery.engine.Create(ctx, app.cfg.WeChat.ID, d)
		if err != nil {
			return nil, fmt.Errorf("simulate: campaign %s: %w", d.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}
