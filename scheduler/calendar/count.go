package calendar

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// tally is what count found.
type tally struct {
	groups, towns []Remaining
	over          int64 // in the new booking, and already at Limit
	lastSlot      int64 // in the new booking, which uses their last send
}

// audienceTTL is how long a new booking's audience bitmap is kept while
// it is checked (an accepted one is then kept until after its month).
const audienceTTL = 10 * time.Minute

// hold is a booking still holding a mass send for its audience: dated
// today or later. spent are the bitmaps of whom its campaigns already
// sent by mass send: that send is made (counted in the month's sends),
// no longer held.
type hold struct {
	b     Booking
	spent []string
}

// keepFor is how long a booking of date's month keeps its audience
// snapshot and links: until a week after the month.
func (s *Service) keepFor(date string) time.Duration {
	day, err := time.ParseInLocation("2006-01-02", date, s.cfg.Loc)
	if err != nil {
		return 40 * 24 * time.Hour
	}
	end := time.Date(day.Year(), day.Month()+1, 1, 0, 0, 0, 0, s.cfg.Loc).AddDate(0, 0, 7)
	return max(end.Sub(s.cfg.Now()), time.Hour)
}

// holds returns the bookings of bs dated today or later, with the
// bitmaps of whom their campaigns sent, and makes sure each has its
// audience snapshot (a booking made before snapshots were kept gets one
// now).
func (s *Service) holds(ctx context.Context, account string, bs []Booking, today string) ([]hold, error) {
	var hs []hold
	for _, b := range bs {
		if b.Date >= today {
			hs = append(hs, hold{b: b})
		}
	}
	if len(hs) == 0 {
		return nil, nil
	}
	links := make([]*redis.StringSliceCmd, len(hs))
	snaps := make([]*redis.IntCmd, len(hs))
	_, err := s.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range hs {
			links[i] = p.SMembers(ctx, linksKey(account, h.b.ID))
			snaps[i] = p.Exists(ctx, snapKey(account, h.b.ID))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("bookings held: %w", err)
	}
	for i := range hs {
		hs[i].spent = links[i].Val()
		if snaps[i].Val() == 1 {
			continue
		}
		prog, err := s.cfg.Compile(hs[i].b.Audience, s.cfg.Now())
		if err != nil {
			return nil, err
		}
		ttl := s.keepFor(hs[i].b.Date)
		if _, err := s.cfg.Profiles.Materialize(ctx, account, profile.And(prog, profile.Reachable()), audienceIndex(hs[i].b.ID), ttl); err != nil {
			return nil, err
		}
		if err := s.cfg.Redis.Set(ctx, snapKey(account, hs[i].b.ID), 1, ttl).Err(); err != nil {
			return nil, err
		}
	}
	return hs, nil
}

// count counts, per reachable subscriber, the mass sends of month: those
// made (the spend the delivery core records, profile.Store.MassCounts)
// and those held by bookings dated today or later (their audience
// snapshots, less whom their campaigns already sent). It returns the
// remaining budget by group and town, and for nb (when not nil, its
// audience materialized already) who would go over the limit or use
// their last send.
func (s *Service) count(ctx context.Context, account, month string, bs []Booking, nb *Booking) (*tally, error) {
	now := s.cfg.Now()
	hs, err := s.holds(ctx, account, bs, now.In(s.cfg.Loc).Format("2006-01-02"))
	if err != nil {
		return nil, err
	}
	var names []string
	spans := make([][2]int, len(hs)) // hold → its bitmaps: names[from:to], the audience first
	for k, h := range hs {
		spans[k][0] = len(names)
		names = append(names, audienceIndex(h.b.ID))
		names = append(names, h.spent...)
		spans[k][1] = len(names)
	}
	newAt := -1
	if nb != nil {
		newAt = len(names)
		names = append(names, audienceIndex(nb.ID))
	}
	t := &tally{}
	tax := s.cfg.Taxonomy
	base := len(names)
	for _, g := range tax.Groups {
		t.groups = append(t.groups, Remaining{ID: g.ID, Name: g.Name, MinLeft: Limit})
		names = append(names, profile.GroupIndex(g.ID))
	}
	for _, tw := range tax.Towns {
		t.towns = append(t.towns, Remaining{ID: tw.ID, Name: tw.Name, MinLeft: Limit})
		names = append(names, profile.TownIndex(tw.ID))
	}
	names = append(names, profile.IndexReachable)
	first, _ := time.ParseInLocation("2006-01", month, s.cfg.Loc)
	mn := plan.MonthNumber(first, s.cfg.Loc)
	sendsMade := mn <= plan.MonthNumber(now, s.cfg.Loc) // a month ahead has none yet
	for shard := range profile.Shards {
		top, err := s.cfg.Profiles.MaxLocal(ctx, account, shard)
		if err != nil {
			return nil, err
		}
		n := (top/8 + 1) * 8
		bits, err := s.cfg.Profiles.Bits(ctx, account, shard, names, 0, n)
		if err != nil {
			return nil, err
		}
		made := make([]uint8, n)
		if sendsMade {
			if made, err = s.cfg.Profiles.MassCounts(ctx, account, shard, mn, 0, n); err != nil {
				return nil, err
			}
		}
		reach := bits[len(bits)-1]
		for i := range n {
			if !profile.BitSet(reach, i) {
				continue
			}
			used := int(made[i])
			for _, sp := range spans {
				if held(bits[sp[0]:sp[1]], i) {
					used++
				}
			}
			if newAt >= 0 && profile.BitSet(bits[newAt], i) {
				switch {
				case used+1 > Limit:
					t.over++
				case used+1 > Limit-AlertReserve:
					t.lastSlot++
				}
			}
			left := Limit - used
			tallyOf := func(rs []Remaining, from int) {
				for j := range rs {
					if profile.BitSet(bits[from+j], i) {
						rs[j].Subscribers++
						rs[j].Sent += int64(made[i])
						rs[j].MinLeft = max(min(rs[j].MinLeft, left), 0)
						if left <= 0 {
							rs[j].Exhausted++
						}
					}
				}
			}
			tallyOf(t.groups, base)
			tallyOf(t.towns, base+len(t.groups))
		}
	}
	return t, nil
}

// held reports whether a booking whose bitmaps are bits (its audience,
// then whom its campaigns sent by mass send) still holds a send for bit
// i: in its audience, and not sent yet.
func held(bits [][]byte, i int64) bool {
	if !profile.BitSet(bits[0], i) {
		return false
	}
	for _, s := range bits[1:] {
		if profile.BitSet(s, i) {
			return false
		}
	}
	return true
}
