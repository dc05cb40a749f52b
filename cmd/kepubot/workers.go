package main

import (
	"context"

	"errors"
	"fmt"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/signup"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/feed"
	"github.com/zengcheng-kexie/kepubot/content/importer"
	"github.com/zengcheng-kexie/kepubot/content/search"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/jobs"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
	"github.com/zengcheng-kexie/kepubot/scheduler/upkeep"
)

// delivery is the part of the app that sends: one queue per account, the
// campaign engine, and the workers that run its jobs.
type delivery struct {
	queues    map[string]*queue.Queue
	notifier  *notify.Notifier // the one way every message is sent
	limiter   *queue.Limiter
	campaigns *campaign.Store
	engine    *campaign.Engine
	sched     *jobs.Scheduler
	programs  *jobs.Programmes
	tagSync   *jobs.TagSync
}

// buildDelivery wires queues and the campaign engine.
func (a *App) buildDelivery(ctx context.Context) error {
	d := &delivery{queues: map[string]*queue.Queue{}, limiter: queue.NewLimiter(a.rdb), campaigns: campaign.NewStore(a.rdb)}
	for _, ac := range a.cfg.allAccounts() {
		q, err := queue.New(a.rdb, queue.Options{Name: ac.ID, Logger: a.logger, Registerer: a.reg, Now: a.now})
		if err != nil {
			return err
		}
		d.queues[ac.ID] = q
	}
	links, err := campaign.NewLinks(ctx, a.rdb, a.cfg.PublicURL)
	if err != nil {
		return err
	}
	quiet, _ := plan.ParseQuietHours(a.cfg.Delivery.QuietHours) // validated with the config
	d.notifier, err = notify.New(notify.Config{
		Redis: a.rdb, Profiles: a.profiles, Limiter: d.limiter, Sender: a.sender,
		// Mass sends go to everyone or a synced tag in one call when the
		// whole group waits for them (d.tagSync is built below).
		Groups: func(ctx context.Context, account string) ([]notify.Group, error) {
			return d.tagSync.MassGroups(ctx, account)
		},
		Limits: a.limits, Loc: a.cfg.loc, Now: a.now, Logger: a.logger,
	})
	if err != nil {
		return err
	}
	d.engine = campaign.New(campaign.Config{
		Store:    d.campaigns,
		Profiles: a.profiles,
		Items:    campaign.StoreItems{Store: a.content},
		Queue:    func(account string) *queue.Queue { return d.queues[account] },
		Notifier: d.notifier,
		Compile:  a.compile,
		Rules:    a.rules,
		Quiet:    quiet,
		Caps:     plan.Caps{PerDay: a.cfg.Delivery.PerDay, PerWeek: a.cfg.Delivery.PerWeek},
		Links:    links,
		Template: a.cfg.Delivery.NoticeTemplate,
		Loc:      a.cfg.loc,
		Now:      a.now,
		Logger:   a.logger,
	})
	a.delivery = d
	return a.buildScheduler()
}

// sender is an account's WeChat sender, for notify.
func (a *App) sender(account string) (notify.Sender, error) {
	c, ok := a.wechat[account]
	if !ok {
		return nil, fmt.Errorf("account %s: no WeChat API credentials: %w", account, notify.ErrNotConfigured)
	}
	return c, nil
}

// buildScheduler declares the calendar's jobs (schedule in the district's
// time zone; each tick fires on exactly one replica).
func (a *App) buildScheduler() error {
	d := a.delivery
	cs := jobs.NewCampaigns(a.rdb, d.campaigns, d.engine, a.now)
	d.programs = jobs.NewProgrammes(a.rdb, cs, a.cfg.loc)
	d.tagSync = jobs.NewTagSync(a.rdb, jobs.TagSyncConfig{
		Profiles: a.profiles, Segments: segment.NewStore(a.rdb, a.tax), Compile: a.compile, Now: a.now, Logger: a.logger,
		Client: func(account string) (jobs.Tagger, error) {
			c, ok := a.wechat[account]
			if !ok {
				return nil, fmt.Errorf("account %s: no WeChat API credentials", account)
			}
			return c, nil
		},
	})
	var accounts []string
	for _, ac := range a.cfg.allAccounts() {
		accounts = append(accounts, ac.ID)
	}
	declared := []jobs.Job{
		{Name: "daily-tip", Spec: "0 8 * * *", Policy: jobs.PolicySkip, Run: jobs.DailyTip(cs, "default", "active:30d")},
		{Name: "weekly-digest", Spec: "0 19 * * 5", Policy: jobs.PolicyCatchUpLast, Grace: 2 * time.Hour,
			Run: jobs.CampaignJob(cs, "default", campaign.Draft{Name: "weekly-digest", Mode: campaign.ModePersonalized})},
		{Name: "farming-calendar", Spec: "0 7 * * *", Policy: jobs.PolicyCatchUpLast, Grace: 3 * time.Hour,
			Run: jobs.FarmingCalendar(cs, campaign.StoreItems{Store: a.content}, "default", nil, a.cfg.loc)},
		{Name: "tag-sync", Spec: "30 3 * * *", Policy: jobs.PolicyCatchUpLast, Grace: 12 * time.Hour, Run: d.tagSync.Job(accounts...)},
		{Name: "stats-rollup", Spec: "50 23 * * *", Policy: jobs.PolicyCatchUpLast, Grace: 6 * time.Hour,
			Run: func(ctx context.Context, t jobs.Tick) error {
				towns, groups := a.taxonomyIDs()
				for _, acct := range accounts {
					if _, err := upkeep.Rollup(ctx, a.rdb, a.profiles, acct, towns, groups, a.now(), a.cfg.loc); err != nil {
						return err
					}
				}
				return nil
			}},
		{Name: "retention", Spec: "0 4 * * *", Policy: jobs.PolicyCatchUpLast, Grace: 12 * time.Hour,
			Run: func(ctx context.Context, t jobs.Tick) error {
				erasers := []upkeep.Eraser{a.quiz, a.signups}
				for _, acct := range accounts {
					n, err := upkeep.Retention(ctx, a.profiles, erasers, acct, time.Duration(a.cfg.Privacy.KeepUnsubscribedDays)*24*time.Hour, a.now())
					if err != nil {
						return err
					}
					a.logger.Info("retention", "account", acct, "erased", n)
				}
				return nil
			}},
	}
	if len(a.cfg.Feeds) > 0 {
		fetcher, err := feed.NewFetcher(feed.NewRedisValidators(a.rdb), feed.Options{Logger: a.logger})
		if err != nil {
			return err
		}
		var trusted, reviewed []feed.Source
		for _, f := range a.cfg.Feeds {
			src := feed.Source{Name: f.Name, URL: f.URL, Trusted: f.Trusted}
			if f.Trusted {
				trusted = append(trusted, src)
			} else {
				reviewed = append(reviewed, src)
			}
		}
		opts := importer.Options{Vocabulary: importer.Vocabulary(a.tax), By: "feed"}
		trustedOpts := opts
		trustedOpts.Trusted = true
		declared = append(declared, jobs.Job{Name: "feed-import", Spec: "*/30 * * * *", Policy: jobs.PolicySkip,
			Run: func(ctx context.Context, t jobs.Tick) error {
				// Feed items enter as drafts for review unless the feed is trusted.
				err1 := jobs.FeedImport(fetcher, reviewed, a.content, "default", opts, a.logger)(ctx, t)
				err2 := jobs.FeedImport(fetcher, trusted, a.content, "default", trustedOpts, a.logger)(ctx, t)
				return errors.Join(err1, err2)
			}})
	}
	sched, err := jobs.New(a.rdb, declared, jobs.Options{Loc: a.cfg.loc, Now: a.now, Programmes: d.programs, Logger: a.logger})
	if err != nil {
		return err
	}
	d.sched = sched
	return nil
}

// taxonomyIDs lists town and group ids.
func (a *App) taxonomyIDs() (towns, groups []string) {
	for _, t := range a.tax.Towns {
		towns = append(towns, t.ID)
	}
	for _, g := range a.tax.Groups {
		groups = append(groups, g.ID)
	}
	return towns, groups
}

// registerDelivery adds the campaign routes to the admin API.
func (a *App) registerDelivery() {
	d := a.delivery
	towns, groups := a.taxonomyIDs()
	admin.RegisterCampaigns(a.admin, admin.CampaignDeps{
		Store: d.campaigns, Engine: d.engine, Compile: a.compile,
		Item: func(ctx context.Context, account, id string) (*content.Item, error) {
			it, err := a.content.Item(ctx, account, id)
			return &it, err
		},
		Queue: func(account string) *queue.Queue { return d.queues[account] },
		Towns: towns, Groups: groups, Now: a.now,
	})
	admin.RegisterJobs(a.admin, admin.JobDeps{Scheduler: d.sched, Programmes: d.programs, TagSync: d.tagSync, Now: a.now,
		CheckAudience: func(expr string) error { _, err := segment.Parse(expr, a.tax); return err },
		CheckItem: func(ctx context.Context, account, id string) error {
			_, err := a.content.Item(ctx, account, id)
			return err
		},
	})
}

// compile parses an audience expression against the taxonomy.
func (a *App) compile(expr string, at time.Time) (profile.Program, error) {
	e, err := segment.Parse(expr, a.tax)
	if err != nil {
		return nil, err
	}
	return e.Compile(at, a.cfg.loc), nil
}

// rules are an account's WeChat delivery rules.
func (a *App) rules(account string) plan.Rules {
	r := plan.Rules{AccountType: plan.ServiceAccount, TemplateConfigured: a.cfg.Delivery.NoticeTemplate != "", Loc: a.cfg.loc}
	if ac, ok := a.accountConfig(account); ok && ac.Type == "subscription" {
		r.AccountType = plan.SubscriptionAccount
	}
	return r
}

// background runs what the app does besides answering HTTP: delivery
// workers, the search index, the demand log. It returns when ctx ends and
// everything has stopped.
func (a *App) background(ctx context.Context) {
	var wg sync.WaitGroup
	host, _ := os.Hostname()
	consumer := fmt.Sprintf("%s-%d", host, os.Getpid())
	for account, q := range a.delivery.queues {
		wg.Go(func() {
			if err := q.Run(ctx, consumer, a.cfg.Delivery.Workers, queue.HandlerFunc(a.handleJob)); err != nil && !errors.Is(err, context.Canceled) {
				a.logger.Error("delivery workers stopped", "account", account, "err", err)
			}
		})
	}
	wg.Go(func() { a.search.Run(ctx) })
	wg.Go(func() {
		if err := a.delivery.sched.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Error("scheduler stopped", "err", err)
		}
	})
	wg.Go(func() { a.indexLoop(ctx) })
	wg.Wait()
}

// handleJob runs a delivery job: sign-up notices and reminders, or
// campaign work.
func (a *App) handleJob(ctx context.Context, j queue.Job) error {
	if strings.HasPrefix(j.Kind, signup.JobPrefix) {
		return a.signups.Handle(ctx, j)
	}
	return a.delivery.engine.Handle(ctx, j)
}

// indexInterval is how often the chat search index is rebuilt from the
// published library.
const indexInterval = 2 * time.Minute

// indexLoop loads the word segmenter (slow: seconds) and rebuilds the chat
// search index from the published items, now and every indexInterval.
func (a *App) indexLoop(ctx context.Context) {
	seg, err := search.DefaultSegmenter()
	if err != nil {
		a.logger.Error("chat search disabled: segmenter", "err", err)
		return
	}
	words := map[string][]string{}
	for _, t := range a.tax.Topics {
		words[t.ID] = append([]string{t.Name, t.Short}, t.Synonyms...)
	}
	t := time.NewTicker(indexInterval)
	defer t.Stop()
	for {
		items, err := a.content.Published(ctx, "default", content.Query{At: a.now()})
		if err != nil && ctx.Err() == nil {
			a.logger.Warn("chat search index not rebuilt", "err", err)
		} else if err == nil {
			a.search.SetSegmenter(seg)
			a.search.SetIndex(search.NewIndex(seg, items, words))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// redirect serves click-tracked links: /r/{token}.
func (a *App) redirect(w http.ResponseWriter, r *http.Request) {
	url, err := a.delivery.engine.Click(r.Context(), r.PathValue("token"))
	if errors.Is(err, campaign.ErrBadLink) {
		http.Error(w, "链接无效", http.StatusNotFound)
		return
	}
	if wd, ok := errors.AsType[*campaign.WithdrawnError](err); ok {
		writeWithdrawn(w, wd)
		return
	}
	if err != nil || url == "" {
		a.logger.Warn("click not recorded", "err", err)
		if url == "" {
			http.Error(w, "暂时无法打开，请稍后再试", http.StatusServiceUnavailable)
			return
		}
	}
	http.Redirect(w, r, url, http.StatusFound)
}

// reports folds WeChat's delivery reports into campaign statistics.
type reports struct{ campaigns *campaign.Store }

// Report implements bot.ReportSink.
func (r reports) Report(ctx context.Context, msg *bot.Message, raw *message.MixMessage) error {
	if msg.Event != "MASSSENDJOBFINISH" {
		return nil // template and subscribe reports: counted by the sends themselves
	}
	// For these events WeChat puts the id in MsgID, which the SDK parses
	// into TemplateMsgID (WECHAT.md).
	return r.campaigns.FoldReport(ctx, msg.Account, campaign.MassReport{
		MsgID: raw.TemplateMsgID, Status: raw.Status, TotalCount: raw.TotalCount,
		FilterCount: raw.FilterCount, SentCount: raw.SentCount, ErrorCount: raw.ErrorCount,
	})
}
