package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// Starter is the campaign service (*campaign.Engine): it creates
// campaigns, changes their state and enqueues their start (safe to call
// twice for one campaign).
type Starter interface {
	Create(ctx context.Context, account string, d campaign.Draft) (*campaign.Campaign, error)
	Change(ctx context.Context, account, id string, a campaign.Action) (*campaign.Campaign, error)
	Enqueue(ctx context.Context, c *campaign.Campaign) error
}

// Campaigns starts campaigns from ticks, at most one per idempotency key,
// however often a tick runs.
type Campaigns struct {
	rdb    redis.UniversalClient
	store  *campaign.Store
	engine Starter
	now    func() time.Time
}

// NewCampaigns returns a campaign starter; now defaults to time.Now.
func NewCampaigns(rdb redis.UniversalClient, store *campaign.Store, engine Starter, now func() time.Time) *Campaigns {
	if now == nil {
		now = time.Now
	}
	return &Campaigns{rdb: rdb, store: store, engine: engine, now: now}
}

// keepCampKeys is how long a tick key remembers its campaign: longer than
// any tick can be re-run.
const keepCampKeys = 90 * 24 * time.Hour

// Start creates (through the campaign service) and starts draft d of
// account unless a campaign was already started for key, in which case it
// makes sure that one is started and returns it.
//
// The campaign store numbers campaigns itself, so the key maps to the id:
// create a draft, then claim the key with SETNX. The claim's winner is
// started (Engine.Enqueue is idempotent); a loser's draft is cancelled
// before anything was enqueued for it, and a crash between the two steps
// leaves only an unstarted draft. Two runs of one tick therefore send once.
func (cs *Campaigns) Start(ctx context.Context, key, account string, d campaign.Draft) (*campaign.Campaign, error) {
	if got, err := cs.started(ctx, key); err != nil || got != nil {
		return got, err
	}
	if d.CreatedBy == "" {
		d.CreatedBy = "scheduler"
	}
	d.SendAt = nil
	c, err := cs.engine.Create(ctx, account, d)
	if err != nil {
		return nil, fmt.Errorf("campaign for %s: %w", key, err)
	}
	won, err := cs.rdb.SetNX(ctx, campKey(key), c.Account+":"+c.ID, keepCampKeys).Result()
	if err != nil {
		return nil, fmt.Errorf("campaign for %s: claim: %w", key, err)
	}
	if !won {
		if _, err := cs.engine.Change(ctx, c.Account, c.ID, campaign.ActCancel); err != nil {
			return nil, fmt.Errorf("campaign for %s: cancel duplicate draft %s: %w", key, c.ID, err)
		}
		return cs.started(ctx, key)
	}
	if err := cs.engine.Enqueue(ctx, c); err != nil {
		return nil, fmt.Errorf("campaign %s for %s: start: %w", c.ID, key, err)
	}
	return c, nil
}

// started returns the campaign key already maps to, enqueued again (a
// no-op when it was), or nil when there is none.
func (cs *Campaigns) started(ctx context.Context, key string) (*campaign.Campaign, error) {
	ref, err := cs.rdb.Get(ctx, campKey(key)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("campaign for %s: %w", key, err)
	}
	account, id, ok := strings.Cut(ref, ":")
	if !ok {
		return nil, fmt.Errorf("campaign for %s: bad record %q", key, ref)
	}
	c, err := cs.store.Get(ctx, account, id)
	if err != nil {
		return nil, fmt.Errorf("campaign for %s: %w", key, err)
	}
	// The first run may have crashed between the claim and the start.
	if c.Status == campaign.StatusDraft || c.Status == campaign.StatusScheduled || c.Status == campaign.StatusRunning {
		if err := cs.engine.Enqueue(ctx, c); err != nil {
			return nil, fmt.Errorf("campaign %s for %s: start: %w", id, key, err)
		}
	}
	return c, nil
}

// CampaignJob returns a job function that starts one campaign like tmpl
// per tick, named "<tmpl.Name> <tick key>": a weekly digest, a programme.
func CampaignJob(cs *Campaigns, account string, tmpl campaign.Draft) func(context.Context, Tick) error {
	return func(ctx context.Context, tick Tick) error {
		d := tmpl
		d.Name = strings.TrimSpace(tmpl.Name + " " + tick.Key())
		_, err := cs.Start(ctx, tick.Key(), account, d)
		return err
	}
}

// DailyTip returns the daily-tip job: a personalized campaign (the best
// item for each subscriber) to audience — e.g. "active:30d", or "" for
// everyone reachable. The engine leaves out who cannot be reached now and
// applies quiet hours and frequency caps.
func DailyTip(cs *Campaigns, account, audience string) func(context.Context, Tick) error {
	return CampaignJob(cs, account, campaign.Draft{Name: "daily-tip", Audience: audience, Mode: campaign.ModePersonalized})
}

// Items lists the published items deliverable at t (the campaign
// engine's campaign.Items has this method).
type Items interface {
	Deliverable(ctx context.Context, account string, t time.Time) ([]*content.Item, error)
}

// SolarTerms lists the 24 solar terms (节气) in calendar order, 小寒 first.
var SolarTerms = [24]string{
	"小寒", "大寒", "立春", "雨水", "惊蛰", "春分", "清明", "谷雨", "立夏", "小满", "芒种", "夏至",
	"小暑", "大暑", "立秋", "处暑", "白露", "秋分", "寒露", "霜降", "立冬", "小雪", "大雪", "冬至",
}

// FarmingCalendar returns the farming-calendar job. Declare it daily (e.g.
// "0 7 * * *"); on the day of a solar term (plan.SolarTermDate, in the
// district's calendar) it starts, for each deliverable item whose season
// names that term, a campaign of that item to the subscribers interested
// in the item's crops: its topics, limited to crops when crops is not
// empty. Other days it does nothing.
func FarmingCalendar(cs *Campaigns, items Items, account string, crops []string, loc *time.Location) func(context.Context, Tick) error {
	return func(ctx context.Context, tick Tick) error {
		term, ok := SolarTermOn(tick.At, loc)
		if !ok {
			return nil
		}
		its, err := items.Deliverable(ctx, account, tick.At)
		if err != nil {
			return fmt.Errorf("farming calendar %s: items: %w", term, err)
		}
		var errs []error
		for _, it := range its {
			if !slices.Contains(it.Season.SolarTerms, term) {
				continue
			}
			var topics []string
			for _, t := range it.Audience.Topics {
				if len(crops) == 0 || slices.Contains(crops, t) {
					topics = append(topics, t)
				}
			}
			if len(topics) == 0 {
				continue
			}
			_, err := cs.Start(ctx, tick.Key()+"/"+it.ID, account, campaign.Draft{
				Name:     "farming-calendar " + term + " " + it.ID + " " + tick.Key(),
				Audience: "interest:(" + strings.Join(topics, "|") + ")", ItemID: it.ID,
			})
			if err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}
