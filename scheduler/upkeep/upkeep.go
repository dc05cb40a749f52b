// Package upkeep holds the nightly housekeeping jobs: the statistics
// rollup (a daily snapshot of subscribers by town and group, for growth
// charts) and retention (erasing what the privacy policy says not to keep).
package upkeep

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// Snapshot is one day's subscriber counts.
type Snapshot struct {
	Day        string                      `json:"day"`
	Profiles   int64                       `json:"profiles"`
	Reachable  int64                       `json:"reachable"`
	Active30d  int64                       `json:"active_30d"`
	TownGroups map[string]map[string]int64 `json:"town_groups"`
}

// Rollup writes today's snapshot of an account (kept 2 years):
//
//	kb:{<acct>:stats}:day:<yyyymmdd>  JSON Snapshot
func Rollup(ctx context.Context, rdb redis.UniversalClient, profiles *profile.Store, account string, towns, groups []string, now time.Time, loc *time.Location) (Snapshot, error) {
	var rows, cols []string
	for _, t := range towns {
		rows = append(rows, profile.TownIndex(t))
	}
	for _, g := range groups {
		cols = append(cols, profile.GroupIndex(g))
	}
	all, err := profiles.Count(ctx, account, nil, nil, nil)
	if err != nil {
		return Snapshot{}, err
	}
	reach, err := profiles.Count(ctx, account, profile.Reachable(), rows, cols)
	if err != nil {
		return Snapshot{}, err
	}
	var days []profile.Program
	for d := range 30 {
		days = append(days, profile.Term(profile.ActiveIndex(now.In(loc).AddDate(0, 0, -d))))
	}
	active, err := profiles.Count(ctx, account, profile.And(profile.Or(days...), profile.Reachable()), nil, nil)
	if err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{Day: now.In(loc).Format("2006-01-02"), Profiles: all.Total, Reachable: reach.Total, Active30d: active.Total,
		TownGroups: map[string]map[string]int64{}}
	for i, t := range towns {
		s.TownGroups[t] = map[string]int64{}
		for j, g := range groups {
			s.TownGroups[t][g] = reach.Cells[rows[i]][cols[j]]
		}
	}
	b, _ := json.Marshal(s)
	key := "kb:{" + account + ":stats}:day:" + now.In(loc).Format("20060102")
	if err := rdb.Set(ctx, key, b, 2*365*24*time.Hour).Err(); err != nil {
		return Snapshot{}, fmt.Errorf("stats rollup: %w", err)
	}
	return s, nil
}

// Eraser deletes what a package keeps about a subscriber (bot.Eraser).
type Eraser interface {
	Erase(ctx context.Context, account, openID string) error
}

// Retention erases subscribers who unfollowed the account more than keep
// ago: their profile, index bits and what the erasers keep. Followers are
// never touched; someone who unfollowed recently is kept (unsubscribed,
// never pushed to) for statistics until then. It returns how many it
// erased.
func Retention(ctx context.Context, profiles *profile.Store, erasers []Eraser, account string, keep time.Duration, now time.Time) (int, error) {
	erased := 0
	cutoff := now.Add(-keep)
	for shard := range profile.Shards {
		max, err := profiles.MaxLocal(ctx, account, shard)
		if err != nil {
			return erased, err
		}
		const chunk = 1024
		for from := int64(0); from <= max; from += chunk {
			bits, err := profiles.Bits(ctx, account, shard, []string{profile.IndexAll, profile.IndexSubscribed}, from, chunk)
			if err != nil {
				return erased, err
			}
			var lids []int64
			for i := int64(0); i < chunk; i++ {
				if profile.BitSet(bits[0], i) && !profile.BitSet(bits[1], i) {
					lids = append(lids, from+i)
				}
			}
			if len(lids) == 0 {
				continue
			}
			ms, err := profiles.Members(ctx, account, shard, lids)
			if err != nil {
				return erased, err
			}
			for _, m := range ms {
				if m.Profile.Subscribed || m.Profile.OptChangedAt.After(cutoff) {
					continue
				}
				for _, e := range erasers {
					if err := e.Erase(ctx, account, m.OpenID); err != nil {
						return erased, err
					}
				}
				err := profiles.Update(ctx, account, m.OpenID, func(p *profile.Profile) (*profile.Profile, error) {
					if p == nil || p.Subscribed || p.OptChangedAt.After(cutoff) {
						return p, nil // came back meanwhile
					}
					return nil, nil
				})
				if err != nil {
					return erased, err
				}
				erased++
			}
		}
	}
	return erased, nil
}
