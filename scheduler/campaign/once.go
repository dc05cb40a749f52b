package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// keepOnce is how long an idempotency key remembers its campaign: longer
// than any tick or alert can be run again.
const keepOnce = 90 * 24 * time.Hour

// StartOnce creates draft d of account and starts it, unless a campaign
// was already started for key (a scheduler tick, a hazard alert), in which
// case it makes sure that one is started and returns it. However often it
// runs for one key, on however many replicas, one campaign is sent.
//
// The store numbers campaigns itself, so the key maps to the id: create a
// draft, then claim the key with SETNX. The claim's winner is started
// (Enqueue is idempotent); a loser's draft is cancelled before anything
// was enqueued for it, and a crash between the two steps leaves only an
// unstarted draft, which the next run's claim does not see.
func (e *Engine) StartOnce(ctx context.Context, key, account string, d Draft) (*Campaign, error) {
	if got, err := e.startedFor(ctx, key); err != nil || got != nil {
		return got, err
	}
	d.SendAt = nil
	c, err := e.Create(ctx, account, d)
	if err != nil {
		return nil, fmt.Errorf("campaign for %s: %w", key, err)
	}
	won, err := e.cfg.Store.rdb.SetNX(ctx, onceKey(key), c.Account+":"+c.ID, keepOnce).Result()
	if err != nil {
		return nil, fmt.Errorf("campaign for %s: claim: %w", key, err)
	}
	if !won {
		if _, err := e.Change(ctx, c.Account, c.ID, ActCancel); err != nil {
			return nil, fmt.Errorf("campaign for %s: cancel duplicate draft %s: %w", key, c.ID, err)
		}
		return e.startedFor(ctx, key)
	}
	// Claimed: this campaign is the key's. A failed start now would leave
	// it a draft until the key's next run, and a tick that returns an error
	// is not run again: try a few times (Enqueue is idempotent).
	if err := retrySoon(ctx, func() error { return e.Enqueue(ctx, c) }); err != nil {
		return nil, fmt.Errorf("campaign %s for %s: start: %w", c.ID, key, err)
	}
	return c, nil
}

// startedFor returns the campaign key already maps to, enqueued again (a
// no-op when it was), or nil when there is none.
func (e *Engine) startedFor(ctx context.Context, key string) (*Campaign, error) {
	ref, err := e.cfg.Store.rdb.Get(ctx, onceKey(key)).Result()
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
	c, err := e.cfg.Store.Get(ctx, account, id)
	if err != nil {
		return nil, fmt.Errorf("campaign for %s: %w", key, err)
	}
	// The first run may have crashed between the claim and the start.
	if c.Status == StatusDraft || c.Status == StatusScheduled || c.Status == StatusRunning {
		if err := e.Enqueue(ctx, c); err != nil {
			return nil, fmt.Errorf("campaign %s for %s: start: %w", id, key, err)
		}
	}
	return c, nil
}
