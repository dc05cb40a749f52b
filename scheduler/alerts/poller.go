package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/zengcheng-kexie/kepubot/content/alert"
	"github.com/zengcheng-kexie/kepubot/content/feed"
)

// Feed is one CAP feed to poll.
type Feed struct {
	URL      string
	Interval time.Duration
	// AutoSend sends new alerts at once; false holds each for an
	// organizer's approval.
	AutoSend bool
	// Account receives the feed's alerts.
	Account string
}

// DefaultInterval is how often a feed is polled when its interval is unset.
const DefaultInterval = 2 * time.Minute

// maxBackoff bounds how far a failing feed's interval grows.
const maxBackoff = 8

// Poller polls feeds and hands their alerts to a Service.
type Poller struct {
	svc   *Service
	feeds []Feed
	fetch *feed.Fetcher
	log   *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewPoller returns a poller of feeds; fetch pulls them (conditional GETs,
// retries with backoff, a size limit: the content feeds' fetcher).
func NewPoller(svc *Service, fetch *feed.Fetcher, feeds []Feed, logger *slog.Logger) *Poller {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Poller{svc: svc, feeds: feeds, fetch: fetch, log: logger.With("component", "alerts")}
}

// Start polls every feed in its own goroutine, the first time at once.
func (p *Poller) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		return errors.New("alert poller already started")
	}
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, f := range p.feeds {
		p.wg.Go(func() { p.loop(ctx, f) })
	}
	return nil
}

// Stop ends polling and waits for it. Safe twice and before Start.
func (p *Poller) Stop() {
	p.mu.Lock()
	cancel := p.cancel
	p.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	p.wg.Wait()
}

func (p *Poller) loop(ctx context.Context, f Feed) {
	every := f.Interval
	if every <= 0 {
		every = DefaultInterval
	}
	wait, failing := time.Duration(0), 0
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := p.Poll(ctx, f); err != nil && ctx.Err() == nil {
			failing = min(failing+1, maxBackoff)
			p.log.Warn("alert feed poll failed", "feed", f.URL, "err", err, "failing", failing)
		} else {
			failing = 0
		}
		wait = every * time.Duration(1<<min(failing, 3)) // back off a failing feed: 2×, 4×, 8×
	}
}

// Poll fetches feed f once (an index: also the alerts it links), takes in
// each alert, and resumes sends a dead replica left. Alerts seen before
// change nothing.
func (p *Poller) Poll(ctx context.Context, f Feed) error {
	res, err := p.fetch.Fetch(ctx, feed.Source{Name: "alert:" + f.URL, URL: f.URL})
	if err != nil {
		return err
	}
	var errs []error
	if !res.NotModified {
		doc, err := alert.Parse(res.Body)
		if err != nil {
			errs = append(errs, err)
		}
		alerts := doc.Alerts
		for _, l := range doc.Links {
			u, err := resolve(f.URL, l)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			r, err := p.fetch.Fetch(ctx, feed.Source{Name: "alert:" + u, URL: u})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if r.NotModified {
				continue
			}
			d, err := alert.Parse(r.Body)
			if err != nil {
				errs = append(errs, err)
			}
			alerts = append(alerts, d.Alerts...)
		}
		// Oldest first, so an update finds the alert it follows.
		sortBySent(alerts)
		for _, a := range alerts {
			if _, _, err := p.svc.Ingest(ctx, f.Account, f.URL, a, f.AutoSend); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := p.svc.Resume(ctx, f.Account); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("alert feed url %q: %w", base, err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("alert link %q: %w", ref, err)
	}
	return b.ResolveReference(r).String(), nil
}

func sortBySent(as []alert.Alert) {
	slices.SortStableFunc(as, func(a, b alert.Alert) int { return a.SentAt().Compare(b.SentAt()) })
}
