package profile

import "time"

// bitChange sets or clears a subscriber's bit in one segment bitmap.
type bitChange struct {
	index string
	bit   int
	ttl   int64 // seconds; 0 keeps the bitmap forever
}

// indexChanges lists the bitmap updates that turn old's indexing into
// new's. Either may be nil (a new subscriber; an erased one).
func (s *Store) indexChanges(old, new *Profile) []bitChange {
	var out []bitChange
	set := func(index string, was, is bool) {
		if was != is {
			out = append(out, bitChange{index: index, bit: b2i(is)})
		}
	}
	o, n := old, new
	if o == nil {
		o = &Profile{}
	}
	if n == nil {
		n = &Profile{}
	}
	set(IndexAll, old != nil, new != nil)
	set(IndexSubscribed, o.Subscribed, n.Subscribed)
	set(IndexOptedOut, o.OptedOut, n.OptedOut)
	set(IndexReachable, old != nil && o.Reachable(), new != nil && n.Reachable())
	value := func(index func(string) string, was, is string) {
		if was == is {
			return
		}
		if was != "" {
			out = append(out, bitChange{index: index(was), bit: 0})
		}
		if is != "" {
			out = append(out, bitChange{index: index(is), bit: 1})
		}
	}
	value(GroupIndex, o.Group, n.Group)
	value(TownIndex, o.Town, n.Town)
	value(SourceIndex, o.Source, n.Source)
	for _, t := range o.InterestIDs() {
		if !n.HasInterest(t) {
			out = append(out, bitChange{index: InterestIndex(t), bit: 0})
		}
	}
	for _, t := range n.InterestIDs() {
		if !o.HasInterest(t) {
			out = append(out, bitChange{index: InterestIndex(t), bit: 1})
		}
	}
	ttl := int64(ActiveDays * 24 * time.Hour / time.Second)
	switch {
	case new == nil && old != nil:
		// Erased: clear every activity and follow day it could be in.
		day := time.Now().In(s.loc)
		for range ActiveDays {
			out = append(out, bitChange{index: ActiveIndex(day), bit: 0}, bitChange{index: FollowIndex(day), bit: 0})
			day = day.AddDate(0, 0, -1)
		}
	case new != nil && !n.LastActiveAt.IsZero() && !sameDay(o.LastActiveAt, n.LastActiveAt, s.loc):
		out = append(out, bitChange{index: ActiveIndex(n.LastActiveAt.In(s.loc)), bit: 1, ttl: ttl})
	}
	// A follow (subscribe event: OptChangedAt is its time) marks its day.
	// Someone who followed before kepubot knew them (an import, a first
	// message with no subscribe event) has no follow time and no mark.
	if new != nil && n.Subscribed && !o.Subscribed && !n.OptChangedAt.IsZero() {
		out = append(out, bitChange{index: FollowIndex(n.OptChangedAt.In(s.loc)), bit: 1, ttl: ttl})
	}
	return out
}

func sameDay(a, b time.Time, loc *time.Location) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	ay, am, ad := a.In(loc).Date()
	by, bm, bd := b.In(loc).Date()
	return ay == by && am == bm && ad == bd
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
