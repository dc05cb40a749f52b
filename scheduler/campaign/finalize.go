package campaign

import (
	"context"
	"errors"
	"sort"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
)

// finalize sends every item's mass recipients in openid lists, then marks
// the campaign done.
func (e *Engine) finalize(ctx context.Context, ref jobRef) error {
	c, now, err := e.runnable(ctx, ref)
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		return err
	}
	// A Redis that restarted may have lost the record of a batch this
	// process sent: write it again before batches are made from the states.
	if err := e.notify.Sync(ctx, scope(c)); err != nil {
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
	_, err = e.cfg.Store.Update(ctx, c.Account, c.ID, func(c *Campaign) error {
		if c.Status == StatusRunning {
			c.Status, c.DoneAt, c.Waiting = StatusDone, &now, nil
		}
		return nil
	})
	if err == nil {
		e.log.Info("campaign done", "campaign", c.ID, "account", c.Account)
	}
	return err
}

// massItem sends one item to its mass recipients not yet sent, in
// batches of up to 10,000 whose clientmsgid is derived from their members:
// a batch sent before a crash is answered 45065 by WeChat and only
// recorded here. The batches are made in the same order on every run.
func (e *Engine) massItem(ctx context.Context, c *Campaign, itemID string) error {
	it, err := e.cfg.Items.Item(ctx, c.Account, itemID)
	if err != nil {
		return err
	}
	sc := scope(c)
	// A batch a dead run sent but did not record is sent again as it was.
	if res, err := e.notify.ResumeMass(ctx, sc, itemID); err != nil {
		return err
	} else if err := e.cfg.Store.rememberMassJob(ctx, c.Account, c.ID, res.MsgID); err != nil {
		return err
	}
	var rs []notify.Recipient
	for shard := range profile.Shards {
		max, err := e.cfg.Profiles.MaxLocal(ctx, c.Account, shard)
		if err != nil {
			return err
		}
		n := (max/8 + 1) * 8
		bits, err := e.cfg.Profiles.Bits(ctx, c.Account, shard, []string{sc.MassIndex(itemID), sc.SentIndex(), sc.FailedIndex(), sc.SkippedIndex()}, 0, n)
		if err != nil {
			return err
		}
		var lids []int64
		for i := range n {
			if profile.BitSet(bits[0], i) && !profile.BitSet(bits[1], i) && !profile.BitSet(bits[2], i) && !profile.BitSet(bits[3], i) {
				lids = append(lids, i)
			}
		}
		for start := 0; start < len(lids); start += chunkSize {
			ms, err := e.cfg.Profiles.Members(ctx, c.Account, shard, lids[start:min(start+chunkSize, len(lids))])
			if err != nil {
				return err
			}
			for _, m := range ms {
				rs = append(rs, notify.Recipient{Shard: shard, Lid: m.ID.Local, OpenID: m.OpenID})
			}
		}
	}
	text := e.Render(c, it, profile.Member{}, "mass").Text
	for start := 0; start < len(rs); start += wechat.MassMaxOpenIDs {
		batch := rs[start:min(start+wechat.MassMaxOpenIDs, len(rs))]
		if len(batch) < wechat.MassMinOpenIDs {
			// WeChat sends mass lists of 2 or more only.
			for _, r := range batch {
				var d notify.Decided
				d.Skip(r.Lid, "mass_batch_of_one")
				if err := e.notify.Record(ctx, sc, r.Shard, d); err != nil {
					return err
				}
			}
			continue
		}
		res, err := e.notify.SendMass(ctx, sc, itemID, itemID, text, batch)
		if err != nil {
			return err
		}
		if err := e.cfg.Store.rememberMassJob(ctx, c.Account, c.ID, res.MsgID); err != nil {
			return err
		}
	}
	return nil
}
