package calendar

import (
	"context"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// newBooking is a booking being checked, with its compiled audience.
type newBooking struct {
	b    *Booking
	prog profile.Program
}

// tally is what count found.
type tally struct {
	groups, towns []Remaining
	over          int64 // in the new booking, and already at Limit
	lastSlot      int64 // in the new booking, which uses their last send
}

// audienceTTL is how long a booking's audience bitmap is kept for a count.
const audienceTTL = 10 * time.Minute

// count evaluates every booking's audience now (and nb's, when not nil)
// into bitmaps and counts, per subscriber, the mass sends booked: the
// remaining budget by group and town, and for nb who would go over the
// limit or use their last send. bs's Reach is filled in.
func (s *Service) count(ctx context.Context, account string, bs []Booking, nb *newBooking) (*tally, error) {
	now := s.cfg.Now()
	var names []string
	for i := range bs {
		prog, err := s.cfg.Compile(bs[i].Audience, now)
		if err != nil {
			return nil, err
		}
		c, err := s.cfg.Profiles.Materialize(ctx, account, profile.And(prog, profile.Reachable()), audienceIndex(bs[i].ID), audienceTTL)
		if err != nil {
			return nil, err
		}
		bs[i].Reach = c.Total
		names = append(names, audienceIndex(bs[i].ID))
	}
	if nb != nil {
		c, err := s.cfg.Profiles.Materialize(ctx, account, profile.And(nb.prog, profile.Reachable()), audienceIndex(nb.b.ID), audienceTTL)
		if err != nil {
			return nil, err
		}
		nb.b.Reach = c.Total
		names = append(names, audienceIndex(nb.b.ID))
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
	booked := len(bs)
	for shard := range profile.Shards {
		max, err := s.cfg.Profiles.MaxLocal(ctx, account, shard)
		if err != nil {
			return nil, err
		}
		n := (max/8 + 1) * 8
		bits, err := s.cfg.Profiles.Bits(ctx, account, shard, names, 0, n)
		if err != nil {
			return nil, err
		}
		reach := bits[len(bits)-1]
		for i := range n {
			if !profile.BitSet(reach, i) {
				continue
			}
			used := 0
			for k := range booked {
				if profile.BitSet(bits[k], i) {
					used++
				}
			}
			if nb != nil && profile.BitSet(bits[booked], i) {
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
						rs[j].MinLeft = min(rs[j].MinLeft, left)
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
