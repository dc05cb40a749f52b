package main

import (
	"context"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/content/feed"
	"github.com/zengcheng-kexie/kepubot/scheduler/alerts"
)

// buildAlerts wires the hazard-alert service (sending through the
// campaign service), the poller of the configured CAP feeds (with the
// content feeds' fetcher) and the alert routes of the admin API, and the
// mass-send calendar's routes (it keeps a mass send a month for alerts;
// built with the delivery core, which reads it).
func (a *App) buildAlerts() error {
	svc, err := alerts.New(alerts.Config{Redis: a.rdb, Campaigns: a.delivery.engine, Content: a.content, Taxonomy: a.tax,
		Loc: a.cfg.loc, Now: a.now, Logger: a.logger})
	if err != nil {
		return err
	}
	fetcher, err := feed.NewFetcher(feed.NewRedisValidators(a.rdb), feed.Options{Logger: a.logger,
		UserAgent: "kepubot-alerts/1 (+https://kepu.example.org)"})
	if err != nil {
		return err
	}
	var feeds []alerts.Feed
	for _, f := range a.cfg.Alerts.Feeds {
		feeds = append(feeds, alerts.Feed{URL: f.URL, Interval: f.every, AutoSend: *f.AutoSend, Account: f.Account})
	}
	a.alerts, a.alertPoller = svc, alerts.NewPoller(svc, fetcher, feeds, a.logger)
	admin.RegisterAlerts(a.admin, svc)
	admin.RegisterCalendar(a.admin, a.calendar)
	return nil
}

// pollAlerts polls the alert feeds until ctx ends.
func (a *App) pollAlerts(ctx context.Context) {
	if err := a.alertPoller.Start(ctx); err != nil {
		a.logger.Error("alert poller not started", "err", err)
		return
	}
	<-ctx.Done()
	a.alertPoller.Stop()
}
