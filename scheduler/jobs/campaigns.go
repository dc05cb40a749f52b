package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// Starter is the campaign service (*campaign.Engine): it starts one
// campaign per idempotency key, however often a tick runs.
type Starter interface {
	StartOnce(ctx context.Context, key, account string, d campaign.Draft) (*campaign.Campaign, error)
}

// start starts draft d for tick key once, made by the scheduler.
func start(ctx context.Context, cs Starter, key, account string, d campaign.Draft) error {
	if d.CreatedBy == "" {
		d.CreatedBy = "scheduler"
	}
	_, err := cs.StartOnce(ctx, key, account, d)
	return err
}

// CampaignJob returns a job function that starts one campaign like tmpl
// per tick, named "<tmpl.Name> <tick key>": a weekly digest, a programme.
func CampaignJob(cs Starter, account string, tmpl campaign.Draft) func(context.Context, Tick) error {
	return func(ctx context.Context, tick Tick) error {
		d := tmpl
		d.Name = strings.TrimSpace(tmpl.Name + " " + tick.Key())
		return start(ctx, cs, tick.Key(), account, d)
	}
}

// DailyTip returns the daily-tip job: a personalized campaign (the best
// item for each subscriber) to audience — e.g. "active:30d", or "" for
// everyone reachable. The engine leaves out who cannot be reached now and
// applies quiet hours and frequency caps.
func DailyTip(cs Starter, account, audience string) func(context.Context, Tick) error {
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
func FarmingCalendar(cs Starter, items Items, account string, crops []string, loc *time.Location) func(context.Context, Tick) error {
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
			err := start(ctx, cs, tick.Key()+"/"+it.ID, account, campaign.Draft{
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
