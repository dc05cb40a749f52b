package main

import (
	"context"

	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/signup"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/feed"
	"github.com/zengcheng-kexie/kepubot/content/importer"
	"github.com/zengcheng-kexie/kepubot/content/search"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/scheduler/calendar"
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
	a.calendar = calendar.New(calendar.Config{Redis: a.rdb, Profiles: a.profiles, Taxonomy: a.tax,
		Compile: a.compile, Loc: a.cfg.loc, Now: a.now})
	d.engine = campaign.New(campaign.Config{
		Store:    d.campaigns,
		Profiles: a.profiles,
		Items:    campaign.StoreItems{Store: a.content},
		Queue:    a.queueOf,
		Notifier: d.notifier,
		Compile:  a.compile,
		Rules:    a.rules,
		Quiet:    quiet,
		Caps:     plan.Caps{PerDay: a.cfg.Delivery.PerDay, PerWeek: a.cfg.Delivery.PerWeek},
		Links:    links,
		Template: a.cfg.Delivery.NoticeTemplate,
		Calendar: a.calendar,
		Audio:    a.content.ItemAudio,
		Loc:      a.cfg.loc,
		Now:      a.now,
		Logger:   a.logger,
	})
	a.delivery = d
	return a.buildScheduler()
}

// sender is an account's WeChat sender, for notify.
func (a *App) sender(account string) (notify.Sender, error) {
	c, ok := a.wechatOf(account)
	if !ok {
		return nil, fmt.Errorf("account %s: no WeChat API credentials: %w", account, notify.ErrNotConfigured)
	}
	return c, nil
}

// buildScheduler declares the calendar's jobs (schedule in the district's
// time zone; each tick fires on exactly one replica).
func (a *App) buildScheduler() error {
	d := a.delivery
	cs := d.engine
	d.programs = jobs.NewProgrammes(a.rdb, cs, a.cfg.loc)
	d.tagSync = jobs.NewTagSync(a.rdb, jobs.TagSyncConfig{
		Profiles: a.profiles, Segments: segment.NewStore(a.rdb, a.tax), Compile: a.compile, Now: a.now, Logger: a.logger,
		Client: func(account string) (jobs.Tagger, error) {
			c, ok := a.wechatOf(account)
			if !ok {
				return nil, fmt.Errorf("account %s: no WeChat API credentials", account)
			}
			return c, nil
		},
	})
	var declared []jobs.Job
	for _, acct := range a.accountIDs() {
		jj, err := a.accountJobs(cs, acct)
		if err != nil {
			return err
		}
		declared = append(declared, jj...)
	}
	sched, err := jobs.New(a.rdb, declared, jobs.Options{Loc: a.cfg.loc, Now: a.now, Programmes: d.programs, Logger: a.logger})
	if err != nil {
		return err
	}
	d.sched = sched
	return nil
}

// accountJobs declares the calendar of one account: each account has its
// own jobs (daily-tip:<account>, ...), so pausing one account's daily tip
// leaves the others' running.
func (a *App) accountJobs(cs jobs.Starter, acct string) ([]jobs.Job, error) {
	d := a.delivery
	job := func(j jobs.Job) jobs.Job {
		j.Name, j.Account = jobs.AccountJob(j.Name, acct), acct
		return j
	}
	declared := []jobs.Job{
		job(jobs.Job{Name: "daily-tip", Spec: "0 8 * * *", Policy: jobs.PolicySkip, Run: jobs.DailyTip(cs, acct, "active:30d")}),
		job(jobs.Job{Name: "weekly-digest", Spec: "0 19 * * 5", Policy: jobs.PolicyCatchUpLast, Grace: 2 * time.Hour,
			Run: jobs.CampaignJob(cs, acct, campaign.Draft{Name: "weekly-digest", Mode: campaign.ModePersonalized})}),
		job(jobs.Job{Name: "farming-calendar", Spec: "0 7 * * *", Policy: jobs.PolicyCatchUpLast, Grace: 3 * time.Hour,
			Run: jobs.FarmingCalendar(cs, campaign.StoreItems{Store: a.content}, acct, nil, a.cfg.loc)}),
		job(jobs.Job{Name: "tag-sync", Spec: "30 3 * * *", Policy: jobs.PolicyCatchUpLast, Grace: 12 * time.Hour, Run: d.tagSync.Job(acct)}),
		job(jobs.Job{Name: "stats-rollup", Spec: "50 23 * * *", Policy: jobs.PolicyCatchUpLast, Grace: 6 * time.Hour,
			Run: func(ctx context.Context, t jobs.Tick) error {
				towns, groups := a.taxonomyIDs()
				_, err := upkeep.Rollup(ctx, a.rdb, a.profiles, acct, towns, groups, a.now(), a.cfg.loc)
				return err
			}}),
		job(jobs.Job{Name: "retention", Spec: "0 4 * * *", Policy: jobs.PolicyCatchUpLast, Grace: 12 * time.Hour,
			Run: func(ctx context.Context, t jobs.Tick) error {
				erasers := []upkeep.Eraser{a.quiz, a.signups}
				n, err := upkeep.Retention(ctx, a.profiles, erasers, acct, time.Duration(a.cfg.Privacy.KeepUnsubscribedDays)*24*time.Hour, a.now())
				if err != nil {
					return err
				}
				a.logger.Info("retention", "account", acct, "erased", n)
				return nil
			}}),
	}
	var trusted, reviewed []feed.Source
	for _, f := range a.cfg.Feeds {
		if f.Account != acct {
			continue
		}
		src := feed.Source{Name: f.Name, URL: f.URL, Trusted: f.Trusted}
		if f.Trusted {
			trusted = append(trusted, src)
		} else {
			reviewed = append(reviewed, src)
		}
	}
	if len(trusted)+len(reviewed) == 0 {
		return declared, nil
	}
	fetcher, err := feed.NewFetcher(feed.NewRedisValidators(a.rdb), feed.Options{Logger: a.logger})
	if err != nil {
		return nil, err
	}
	opts := importer.Options{Vocabulary: importer.Vocabulary(a.tax), By: "feed"}
	trustedOpts := opts
	trustedOpts.Trusted = true
	return append(declared, job(jobs.Job{Name: "feed-import", Spec: "*/30 * * * *", Policy: jobs.PolicySkip,
		Run: func(ctx context.Context, t jobs.Tick) error {
			// Feed items enter as drafts for review unless the feed is trusted.
			err1 := jobs.FeedImport(fetcher, reviewed, a.content, acct, opts, a.logger)(ctx, t)
			err2 := jobs.FeedImport(fetcher, trusted, a.content, acct, trustedOpts, a.logger)(ctx, t)
			return errors.Join(err1, err2)
		}})), nil
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
		Queue: a.queueOf,
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

// background runs what the app does besides answering HTTP, by the
// replica's roles (roles.go): delivery workers, the cron scheduler, the
// search index and demand log, and the Redis health monitor. It returns
// when ctx ends and everything has stopped.
func (a *App) background(ctx context.Context) {
	var wg sync.WaitGroup
	a.mu.Lock()
	a.bg = ctx
	queues := maps.Clone(a.delivery.queues)
	a.mu.Unlock()
	if a.cfg.has(RoleWorker) {
		for account, q := range queues {
			wg.Go(func() { a.runQueue(ctx, account, q) })
		}
	}
	wg.Go(func() { a.watchAccounts(ctx) })
	if a.cfg.has(RoleWeb) {
		wg.Go(func() { a.search.Run(ctx) })
		wg.Go(func() { a.indexLoop(ctx) })
	}
	if a.cfg.has(RoleScheduler) {
		wg.Go(func() {
			if err := a.delivery.sched.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				a.logger.Error("scheduler stopped", "err", err)
			}
		})
		// Hazard-alert feeds are polled by scheduler replicas; an alert is
		// taken in once per account (SET NX) whichever replica sees it.
		wg.Go(func() { a.pollAlerts(ctx) })
	}
	wg.Go(func() { a.redisMon.Run(ctx) })
	wg.Wait()
	a.bgWG.Wait()
}

// runQueue runs an account's delivery workers until ctx ends.
func (a *App) runQueue(ctx context.Context, account string, q *queue.Queue) {
	host, _ := os.Hostname()
	consumer := fmt.Sprintf("%s-%d", host, os.Getpid())
	if err := q.Run(ctx, consumer, a.cfg.Delivery.Workers, queue.HandlerFunc(a.handleJob)); err != nil && !errors.Is(err, context.Canceled) {
		a.logger.Error("delivery workers stopped", "account", account, "err", err)
	}
}

// handleJob runs a delivery job: sign-up notices and reminders, or
// campaign work.
func (a *App) handleJob(ctx context.Context, j queue.Job) error {
	if strings.HasPrefix(j.Kind, signup.JobPrefix) {
		return a.signups.Handle(ctx, j)
	}
	return a.delivery.engine.Handle(ctx, j)
}

// Chat search follows each account's library as organizers change it:
// every replica hears each publish, retire or edit at once (content's
// library announcements) and updates that account's index, segmenting
// only the changed items. libraryCheck is how often it also compares each
// library's version (an announcement lost while reconnecting), and
// validityCheck how often it reloads anyway, for items whose valid_from or
// valid_until has passed.
const (
	libraryCheck  = 15 * time.Second
	validityCheck = 2 * time.Minute
)

// indexLoop loads the word segmenter (slow: seconds), then keeps every
// account's chat search index up to date until ctx ends.
func (a *App) indexLoop(ctx context.Context) {
	seg, err := search.DefaultSegmenter()
	if err != nil {
		a.logger.Error("chat search disabled: segmenter", "err", err)
		return
	}
	a.search.SetSegmenter(seg)
	words := map[string][]string{}
	for _, t := range a.tax.Topics {
		words[t.ID] = append([]string{t.Name, t.Short}, t.Synonyms...)
	}
	update := func(account string, force bool) {
		if err := a.search.Sync(ctx, a.content, account, words, a.now(), force); err != nil && ctx.Err() == nil {
			a.logger.Warn("chat search index not updated", "account", account, "err", err)
		}
	}
	// An announcement kicks its account's sync; kicks that come while a
	// sync runs collapse into one more (an import publishing thousands of
	// items costs a few syncs, not thousands).
	var wg sync.WaitGroup
	defer wg.Wait()
	var mu sync.Mutex
	kicks := map[string]chan struct{}{}
	kick := func(account string) {
		mu.Lock()
		ch, ok := kicks[account]
		if !ok {
			ch = make(chan struct{}, 1)
			kicks[account] = ch
			wg.Go(func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-ch:
						update(account, false)
					}
				}
			})
		}
		mu.Unlock()
		select {
		case ch <- struct{}{}:
		default: // one is pending already
		}
	}
	// Listen before the first load, so that nothing published meanwhile
	// is missed.
	listening := make(chan struct{})
	wg.Go(func() {
		var once sync.Once
		for ctx.Err() == nil {
			err := a.content.WatchLibrary(ctx, func() { once.Do(func() { close(listening) }) }, func(account string) {
				if a.servesAccount(account) {
					kick(account)
				}
			})
			if ctx.Err() == nil {
				a.logger.Warn("library announcements lost; listening again", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	})
	select {
	case <-listening:
	case <-ctx.Done():
		return
	case <-time.After(5 * time.Second):
		a.logger.Warn("library announcements not heard yet; the chat search index checks every few seconds")
	}
	for _, account := range a.accountIDs() {
		update(account, true)
	}
	check, full := time.NewTicker(libraryCheck), time.NewTicker(validityCheck)
	defer check.Stop()
	defer full.Stop()
	for {
		force := false
		select {
		case <-ctx.Done():
			return
		case <-check.C:
		case <-full.C:
			force = true
		}
		for _, account := range a.accountIDs() {
			update(account, force)
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
