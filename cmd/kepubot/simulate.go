package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// kepubot simulate runs a seeded district through the real service: the
// embedded Redis, the sample library, the fake WeChat (which enforces
// WeChat's limits) and the real webhook, campaign engine and click
// tracking, on a simulated clock. Residents are split into three arms of
// equal make-up that differ only in how their pushes are chosen:
//
//	personalized  one personalized campaign (each resident's best item)
//	group         one campaign per group, the best item for the group
//	random        a random item (one per cohort of the arm)
//
// Each resident tells the bot only their group and town (a QR code, as a
// training day's poster would); their interests are hidden, and they act
// on them: they search for what they care about and open results that
// match, and open a pushed item with a probability that depends on
// whether it is about what they like (the click model, simClickProb).

// simArms are the arms, in report order.
var simArms = []string{"personalized", "group", "random"}

// Click model: the chance a resident opens a pushed item.
const (
	simClickLiked  = 0.5  // the item is about a topic they like
	simClickGroup  = 0.10 // it is not, but it is written for their group
	simClickAll    = 0.03 // it is not, and it is written for everyone
	simClickOthers = 0.01 // it is written for other groups only
	simSearchRate  = 0.6  // chance they search (rather than just chat) before a push
	simOpenResult  = 0.7  // chance they open a search result they like

	simSecondLike = 0.3 // chance a resident likes a second topic
	simMinItems   = 5   // a hidden interest is a topic of at least this many items
)

// simOptions are simulate's flags.
type simOptions struct {
	Residents, Weeks int
	Seed             uint64
	Out              string
}

// simWeek is one week's outcome per arm.
type simWeek struct {
	Sent, Clicks map[string]int64
}

// CTR returns the arm's click-through of the week.
func (w simWeek) CTR(arm string) float64 {
	if w.Sent[arm] == 0 {
		return 0
	}
	return float64(w.Clicks[arm]) / float64(w.Sent[arm])
}

type simResident struct {
	openID, arm, group, town string
	source                   string // the QR code's source: the arm (random: one of simRandomCohorts)
	likes                    []string
	seen                     int // messages delivered already read
}

func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o simOptions
	fs.IntVar(&o.Residents, "residents", 120, "simulated residents (3-3000), split into three arms")
	fs.IntVar(&o.Weeks, "weeks", 4, "simulated weeks (1-12), one push a week")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed gives the same district")
	fs.StringVar(&o.Out, "out", "", "folder for report.md and ctr.svg (none when empty)")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return errUsage
	}
	if len(rest) > 0 || o.Residents < 3 || o.Residents > 3000 || o.Weeks < 1 || o.Weeks > 12 {
		fmt.Fprintln(stderr, "usage: kepubot simulate [--residents N (3-3000)] [--weeks W (1-12)] [--seed S] [--out DIR]")
		return errUsage
	}
	weeks, err := runSimulation(ctx, o, stdout)
	if err != nil {
		return err
	}
	if o.Out == "" {
		return nil
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(o.Out, "ctr.svg"), []byte(simChart(weeks)), 0o644); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(o.Out, "report.md"), []byte(simReport(o, weeks)), 0o644); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	fmt.Fprintf(stdout, "report: %s, chart: %s\n", filepath.Join(o.Out, "report.md"), filepath.Join(o.Out, "ctr.svg"))
	return nil
}

// runSimulation runs the district for o.Weeks weeks and returns each
// week's sends and clicks by arm, printing a line a week to stdout.
func runSimulation(ctx context.Context, o simOptions, stdout io.Writer) ([]simWeek, error) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 16))
	clock := &simClock{t: time.Date(2027, 5, 17, 6, 0, 0, 0, loc)} // a Monday, in quiet hours
	wx := wechattest.New(wechattest.Options{Now: clock.Now, Seed: int64(o.Seed)})
	defer wx.Close()
	acct := wechattest.Account{AppID: "wxkepubotsim", Secret: randomHex(16), Token: "kepubotsim"}
	wx.AddAccount(acct)
	cfg, err := simulatedConfig(wx, acct, randomHex(16))
	if err != nil {
		return nil, err
	}
	app, err := NewApp(ctx, cfg, slog.New(slog.DiscardHandler), AppOptions{Now: clock.Now})
	if err != nil {
		return nil, err
	}
	defer app.Close()
	if err := app.Start(ctx); err != nil {
		return nil, err
	}
	// Only the simulation's campaigns run: the scheduled ones (daily tip,
	// digest, farming calendar) would reach every arm alike.
	sts, err := app.delivery.sched.Statuses(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range sts {
		if err := app.delivery.sched.Pause(ctx, st.Name); err != nil {
			return nil, err
		}
	}
	base := "http://" + app.Addr()
	phone := wechattest.NewPhone(wx, acct, base+"/wechat", false)
	for deadline := time.Now().Add(60 * time.Second); !app.search.Ready(app.cfg.WeChat.ID); {
		if time.Now().After(deadline) {
			return nil, errors.New("simulate: the search index did not load")
		}
		time.Sleep(50 * time.Millisecond)
	}
	items, err := campaign.StoreItems{Store: app.content}.Deliverable(ctx, app.cfg.WeChat.ID, clock.Now())
	if err != nil {
		return nil, err
	}
	byID := map[string]*content.Item{}
	perTopic := map[string]int{}
	for _, it := range items {
		byID[it.ID] = it
		for _, t := range it.Topics {
			perTopic[t]++
		}
	}
	residents, err := simDistrict(ctx, app, rng, o.Residents, perTopic, clock.Now())
	if err != nil {
		return nil, err
	}
	for _, r := range residents {
		// WeChat posts an event again when the answer takes too long (on a
		// loaded machine the webhook may give up on one): so does this.
		for attempt := 0; ; attempt++ {
			clock.Set(clock.Now().Add(2 * time.Second))
			if _, err := phone.Event(ctx, r.openID, "subscribe", "qrscene_"+simScene(r), nil); err != nil {
				return nil, fmt.Errorf("simulate: follow: %w", err)
			}
			if _, _, err := app.profiles.Get(ctx, app.cfg.WeChat.ID, r.openID); err == nil {
				break
			} else if !errors.Is(err, profile.ErrNotFound) || attempt == 2 {
				return nil, fmt.Errorf("simulate: resident %d did not follow: %w", len(residents), err)
			}
		}
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	open := func(link string) error {
		_, tok, ok := strings.Cut(link, "/r/")
		if !ok {
			return nil // an untracked link teaches nothing
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/r/"+tok, nil)
		if err != nil {
			return err
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			return fmt.Errorf("simulate: open link: %w", err)
		}
		resp.Body.Close()
		return nil
	}
	sentTo := map[string]map[string]bool{} // arm|group → items sent
	fmt.Fprintf(stdout, "kepubot simulate: %d residents (three arms), %d weeks, seed %d\n", len(residents), o.Weeks, o.Seed)
	fmt.Fprintf(stdout, "%-5s %13s %8s %8s %8s %8s\n", "week", "personalized", "group", "random", "P/G", "P/R")
	var weeks []simWeek
	for w := range o.Weeks {
		wk := simWeek{Sent: map[string]int64{}, Clicks: map[string]int64{}}
		for _, day := range []int{0, 3} { // Monday and Thursday: they chat or search
			clock.Set(time.Date(2027, 5, 17+7*w+day, 10, 0, 0, 0, loc))
			for _, r := range residents {
				clock.Set(clock.Now().Add(5 * time.Second))
				if err := simChat(ctx, phone, app, r, rng, byID, open); err != nil {
					return nil, err
				}
			}
		}
		{ // Friday 09:00: the week's push
			clock.Set(time.Date(2027, 5, 17+7*w+4, 9, 0, 0, 0, loc))
			cs, err := simCampaigns(ctx, app, rng, items, sentTo, clock.Now(), loc)
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				if _, err := waitCampaign(ctx, app, c, 2*time.Minute); err != nil {
					return nil, err
				}
			}
			clock.Set(clock.Now().Add(3 * time.Hour)) // noon: they read their phones
			for _, r := range residents {
				msgs := wx.Delivered(acct.AppID, r.openID)
				for _, m := range msgs[r.seen:] {
					it := byID[simLinkItem(m.URL)]
					if it != nil && rng.Float64() < simClickProb(r, it) {
						if err := open(m.URL); err != nil {
							return nil, err
						}
					}
				}
				r.seen = len(msgs)
			}
			for _, c := range cs {
				st, err := app.delivery.engine.Stats(ctx, c, nil, nil)
				if err != nil {
					return nil, err
				}
				arm, _, _ := strings.Cut(strings.TrimPrefix(c.Name, "sim-"), "-")
				wk.Sent[arm] += st.Sent
				wk.Clicks[arm] += st.Clicks
			}
		}
		weeks = append(weeks, wk)
		fmt.Fprintf(stdout, "%-5d %12.1f%% %7.1f%% %7.1f%% %7.2f× %7.2f×\n", w+1,
			100*wk.CTR("personalized"), 100*wk.CTR("group"), 100*wk.CTR("random"),
			ctrRatio(wk.CTR("personalized"), wk.CTR("group")), ctrRatio(wk.CTR("personalized"), wk.CTR("random")))
	}
	return weeks, nil
}

// ctrRatio is a/b, or 0 when b is 0.
func ctrRatio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// simDistrict makes n residents: towns and groups at random, one hidden
// interest (a second one sometimes) among their group's topics that the
// library covers, the
// arms dealt in turn so each has the same make-up on average. It saves
// the QR scenes they follow through.
func simDistrict(ctx context.Context, app *App, rng *rand.Rand, n int, perTopic map[string]int, now time.Time) ([]*simResident, error) {
	groups := []string{"farmer", "farmer", "farmer", "resident", "resident", "worker", "worker", "youth", "official"}
	towns := []string{"licheng", "zengjiang", "zhucun", "yongning", "ningxi", "xintang", "shitan", "zhongxin", "zhengguo", "paitan", "xiaolou", "xiancun"}
	saved := map[string]bool{}
	var out []*simResident
	for i := range n {
		r := &simResident{openID: fmt.Sprintf("oSim%024d", i), arm: simArms[i%len(simArms)],
			group: groups[rng.IntN(len(groups))], town: towns[rng.IntN(len(towns))]}
		r.source = "sim-" + r.arm
		if r.arm == "random" {
			r.source = fmt.Sprintf("sim-random-%d", (i/len(simArms))%simRandomCohorts)
		}
		g, ok := app.tax.Group(r.group)
		if !ok {
			return nil, fmt.Errorf("simulate: taxonomy has no group %s", r.group)
		}
		var pool []string
		for _, t := range g.Topics {
			if perTopic[t] >= simMinItems {
				pool = append(pool, t)
			}
		}
		for len(pool) > 0 && (len(r.likes) == 0 || len(r.likes) == 1 && rng.Float64() < simSecondLike) {
			k := rng.IntN(len(pool))
			r.likes = append(r.likes, pool[k])
			pool = slices.Delete(pool, k, k+1)
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

// simChat is a resident's message the day before a push: a search for
// something they like (opening a result that matches, sometimes), or a
// look at their settings. Either opens their 48-hour window.
func simChat(ctx context.Context, phone *wechattest.Phone, app *App, r *simResident, rng *rand.Rand, byID map[string]*content.Item, open func(string) error) error {
	if len(r.likes) == 0 || rng.Float64() >= simSearchRate {
		_, err := phone.Text(ctx, r.openID, "我的")
		return err
	}
	topic := r.likes[rng.IntN(len(r.likes))]
	term, ok := app.tax.Topic(topic)
	if !ok {
		return fmt.Errorf("simulate: taxonomy has no topic %s", topic)
	}
	reply, err := phone.Text(ctx, r.openID, term.Name)
	if err != nil {
		return err
	}
	for _, a := range reply.Articles {
		it := byID[simLinkItem(a.URL)]
		if it != nil && slices.ContainsFunc(it.Topics, func(t string) bool { return slices.Contains(r.likes, t) }) {
			if rng.Float64() < simOpenResult {
				return open(a.URL)
			}
			return nil
		}
	}
	return nil
}

// simClickProb is the click model: how likely r opens a push of it.
func simClickProb(r *simResident, it *content.Item) float64 {
	switch {
	case slices.ContainsFunc(it.Topics, func(t string) bool { return slices.Contains(r.likes, t) }):
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

// simCampaigns creates and starts one push round through the campaign
// service: the personalized arm's campaign, per group the group arm's
// (the best item for the group, as the scoring picks it for a subscriber
// of whom only the group is known), and per random cohort a random item;
// never an item the group or cohort got before.
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
	var out []*campaign.Campaign
	for _, d := range drafts {
		c, err := app.delivery.engine.Create(ctx, app.cfg.WeChat.ID, d)
		if err != nil {
			return nil, fmt.Errorf("simulate: campaign %s: %w", d.Name, err)
		}
		if c, err = app.delivery.engine.Change(ctx, app.cfg.WeChat.ID, c.ID, campaign.ActStart); err != nil {
			return nil, fmt.Errorf("simulate: start %s: %w", d.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}
