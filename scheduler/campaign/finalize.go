package campaign

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
)

// finalize sends every item's mass recipients, then marks
// the campaign done.
func (e *Engine) finalize(ctx context.Context, ref jobRef) error {
	c, now, err := e.runnable(ctx, ref)
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		return err
	}
	items, err := e.cfg.Store.rdb.SMembers(ctx, massItemsKey(c.Account, c.ID)).Result()
	if err != nil {
		return err
	}
	sort.Strings(items)
	for _, itemID := range items {
		if err := e.massItem(ctx, c, itemID); err != nil {
			return err
		}
	}
	if wait, err := e.awaitWinner(ctx, c, ref); wait || err != nil {
		return err // a variant campaign's holdout waits for the winner
	}
	// The states this process wrote last (the mass records just made, a
	// chunk's last sends) may be lost by a Redis that restarted since; the
	// notifier's journal writes them again when a later write of this
	// process meets the new server. After the last chunk and the mass
	// sends no later write may come: these are the later writes, one
	// before "done" and one after (a restart between the two is seen by
	// the second).
	sc := scope(c)
	if err := e.notify.Sync(ctx, sc); err != nil {
		return err
	}
	_, err = e.cfg.Store.Update(ctx, c.Account, c.ID, func(c *Campaign) error {
		if err := c.apply(ActFinish, now); err != nil && c.Status != StatusDone {
			return nil // paused or cancelled meanwhile: not finished by us
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.log.Info("campaign done", "campaign", c.ID, "account", c.Account)
	return e.syncAfterDone(ctx, sc)
}

// syncAfterDone is Sync after a campaign was marked done, retried for the
// few seconds the journal keeps its writes (a retried finalize job finds
// the campaign done and stops, so it must not give up at the first
// error).
func (e *Engine) syncAfterDone(ctx context.Context, sc notify.Scope) error {
	if err := retrySoon(ctx, func() error { return e.notify.Sync(ctx, sc) }); err != nil && ctx.Err() == nil {
		e.log.Warn("states not checked after a Redis restart", "account", sc.Account, "err", err)
	}
	return ctx.Err()
}

// retrySoon runs fn until it succeeds, for a few seconds (waits of 0.1 s
// doubling to 3.2 s), for a step that must not be left to a job's retry:
// fn's last error, or ctx's.
func retrySoon(ctx context.Context, fn func() error) error {
	err := fn()
	for wait := 100 * time.Millisecond; err != nil && wait < 4*time.Second; wait *= 2 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		err = fn()
	}
	return err
}

// massItem sends one item to its mass recipients (notify.MassAll: by tag
// or to everyone when a whole group waits for it, the rest by openid
// lists; a call's clientmsgid comes from its members, so WeChat
// deduplicates a call made again after a crash).
func (e *Engine) massItem(ctx context.Context, c *Campaign, itemID string) error {
	base, elder := strings.CutSuffix(itemID, elderMass)
	base, arm, isVariant := strings.Cut(base, variantMass)
	it, err := e.cfg.Items.Item(ctx, c.Account, base)
	if err != nil {
		return err
	}
	if isVariant {
		k, err := strconv.Atoi(arm)
		if err != nil || k < 0 || k >= len(c.Variants) {
			return fmt.Errorf("campaign %s: bad mass key %q", c.ID, itemID)
		}
		vs, err := e.variantItems(ctx, c)
		if err != nil {
			return err
		}
		it = vs[k]
	}
	channel := "mass"
	if elder {
		channel = "elder" // elder mode: the short text (mass sends take text)
	}
	text := e.Render(c, it, profile.Member{}, channel).Text
	calls, err := e.notify.MassAll(ctx, scope(c), itemID, base, text)
	for _, r := range calls {
		if err := e.cfg.Store.rememberMassJob(ctx, c.Account, c.ID, r); err != nil {
			return err
		}
	}
	return err
}
