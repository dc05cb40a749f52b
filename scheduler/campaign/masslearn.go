package campaign

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/content"
)

// Learning from mass-send clicks. A mass message is one article for many
// recipients: its link cannot carry a subscriber (Links.ItemURL with no
// id), and WeChat says nothing about who opened it. So a click on it
// teaches no one's interests; it teaches the item's popularity among the
// groups of the recipients, in proportion: a click on a mass send that
// went to 300 farmers and 100 residents adds 0.75 to the item's
// popularity among farmers and 0.25 among residents (a subscriber's own
// click adds 1 to their group's). The chunks count the mass recipients
// by group and item as they plan them (massGroupsKey).
//
// Not built: per-reader learning through WeChat's web OAuth (snsapi_base
// on the landing page gives the reader's openid to a verified service
// account), which needs the landing page on the account's OAuth domain.

// countMassGroups adds a chunk's mass recipients by popField(group, item).
func (e *Engine) countMassGroups(ctx context.Context, c *Campaign, counts map[string]int64) error {
	if len(counts) == 0 {
		return nil
	}
	key := massGroupsKey(c.Account, c.ID)
	_, err := e.cfg.Store.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for f, n := range counts {
			p.HIncrBy(ctx, key, f, n)
		}
		p.Expire(ctx, key, keepFor)
		return nil
	})
	if err != nil {
		return fmt.Errorf("count mass recipients: %w", err)
	}
	return nil
}

// learnMass shares one click on cl's mass link for it out among the
// groups of the item's mass recipients, as popularity.
func (e *Engine) learnMass(ctx context.Context, cl Click, it *content.Item) error {
	h, err := e.cfg.Store.rdb.HGetAll(ctx, massGroupsKey(cl.Account, cl.Campaign)).Result()
	if err != nil {
		return fmt.Errorf("read mass recipients: %w", err)
	}
	shares := massShares(h, it.ID)
	if len(shares) == 0 {
		return nil
	}
	_, err = e.cfg.Store.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for group, s := range shares {
			p.HIncrByFloat(ctx, popKey(cl.Account), popField(group, it.ID), s)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("count popularity: %w", err)
	}
	return nil
}

// massShares returns each group's share of item's mass recipients, from
// massGroupsKey's fields.
func massShares(h map[string]string, item string) map[string]float64 {
	counts := map[string]float64{}
	var total float64
	for f, v := range h {
		group, id, ok := strings.Cut(f, "|")
		n, err := strconv.ParseFloat(v, 64)
		if !ok || id != item || err != nil || n <= 0 {
			continue
		}
		counts[group] += n
		total += n
	}
	for g := range counts {
		counts[g] /= total
	}
	return counts
}
