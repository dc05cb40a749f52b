package plan

import (
	"cmp"
	"slices"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
)

// Picker picks the best item for many subscribers from one set of items at
// one instant. NewPicker does every per-item computation once (liveness,
// season, freshness, priority, audience sets, topic postings), so Pick does
// only per-subscriber work and allocates nothing. A Picker is read-only
// after NewPicker and safe for concurrent use. It reflects the instant it
// was built for: rebuild it when items change or time moves on (validity
// windows, seasons).
type Picker struct {
	// items are the live items, best possible score first (then by id), so
	// a scan can stop at the first one that cannot beat the best so far.
	items []pickItem
	// topics maps a topic id to the positions in items of the items about
	// it, ascending.
	topics map[string][]int32
	groups map[string]int32 // group id → dense index
	towns  map[string]int32 // town id → dense index
	// popGroups maps a group id to its index in pickItem.pop; nil without
	// popularity.
	popGroups map[string]int32
	pop       Popularity
	now       time.Time
	loc       *time.Location
}

type pickItem struct {
	item   *content.Item
	id     string
	base   float64   // baseScore at the Picker's instant
	bound  float64   // base plus every fit bonus the item can give
	groups []int32   // dense group indexes; nil = everyone
	towns  []int32   // dense town indexes; nil = everyone
	crops  uint8     // specialtyMask of the item's topics
	pop    []float64 // popularity bonus by popGroups index; nil = none
}

// NewPicker prepares items for picking at now in loc. Items that are nil,
// not published or not valid at now are left out. The Picker keeps the
// item pointers: don't modify the items while it is in use.
func NewPicker(items []*content.Item, loc *time.Location, now time.Time) *Picker {
	return NewPopularPicker(items, loc, now, nil)
}

// NewPopularPicker is NewPicker with the items' popularity among similar
// subscribers (may be nil): Pick then adds the popularity factor, as
// Explain does.
func NewPopularPicker(items []*content.Item, loc *time.Location, now time.Time, pop Popularity) *Picker {
	pk := &Picker{
		topics: make(map[string][]int32),
		groups: make(map[string]int32),
		towns:  make(map[string]int32),
		pop:    pop,
		now:    now,
		loc:    loc,
	}
	if len(pop) > 0 {
		pk.popGroups = make(map[string]int32, len(pop))
		for g := range pop {
			pk.popGroups[g] = int32(len(pk.popGroups))
		}
	}
	for _, it := range items {
		if !live(it, now) {
			continue
		}
		pi := pickItem{item: it, id: it.ID, base: baseScore(it, now, loc), crops: specialtyMask(it.Topics)}
		pi.bound = pi.base
		if len(it.Groups) > 0 {
			pi.groups = intern(pk.groups, it.Groups)
			pi.bound += WeightGroup
		}
		if len(it.Towns) > 0 {
			pi.towns = intern(pk.towns, it.Towns)
			pi.bound += WeightTown
		}
		var most float64
		for g, n := range pk.popGroups {
			if b := popScore(pop, g, it.ID); b > 0 {
				if pi.pop == nil {
					pi.pop = make([]float64, len(pk.popGroups))
				}
				pi.pop[n] = b
				most = max(most, b)
			}
		}
		pi.bound += most
		pk.items = append(pk.items, pi)
	}
	slices.SortStableFunc(pk.items, func(a, b pickItem) int {
		if c := cmp.Compare(b.bound, a.bound); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	for i, pi := range pk.items {
		for _, topic := range pi.item.Topics {
			if post := pk.topics[topic]; len(post) == 0 || post[len(post)-1] != int32(i) {
				pk.topics[topic] = append(post, int32(i))
			}
		}
	}
	return pk
}

// intern returns the dense indexes of ids, adding new ones to dict.
func intern(dict map[string]int32, ids []string) []int32 {
	out := make([]int32, 0, len(ids))
	for _, id := range ids {
		n, ok := dict[id]
		if !ok {
			n = int32(len(dict))
			dict[id] = n
		}
		out = append(out, n)
	}
	return out
}

// Explain returns why it suits p, as Explain does at the Picker's
// instant and with its popularity.
func (pk *Picker) Explain(p *profile.Profile, it *content.Item) Explanation {
	return Explain(p, it, pk.now, pk.loc, pk.pop)
}

// Len returns how many live items the Picker chooses from.
func (pk *Picker) Len() int { return len(pk.items) }

// Pick returns the best item for p, exactly as the package-level Pick would
// for the Picker's items and instant: the highest Score, ties broken by
// the smaller item id, never an item received(id) reports, never one with
// a topic topicOptOut(topic) reports (either may be nil). ok is false when
// no item qualifies. The callbacks are called only for items that would
// beat the best so far.
func (pk *Picker) Pick(p *profile.Profile, received func(itemID string) bool, topicOptOut func(topic string) bool) (best *content.Item, score float64, ok bool) {
	s := pickState{pk: pk, best: -1, score: Excluded, group: -1, town: -1, pop: -1, received: received, optOut: topicOptOut}
	var interests []profile.Interest
	if p != nil {
		if g, ok := pk.groups[p.Group]; ok && p.Group != "" {
			s.group = g
		}
		if t, ok := pk.towns[p.Town]; ok && p.Town != "" {
			s.town = t
		}
		interests = p.Interests
		s.crops = interestMask(interests)
	}
	if pk.popGroups != nil {
		var group string // "": subscribers without a group, and no profile
		if p != nil {
			group = p.Group
		}
		if g, ok := pk.popGroups[group]; ok {
			s.pop = g
		}
	}
	// Items about the subscriber's interests, scored with the interest's
	// weight. An item about several interests is tried once for each; the
	// strongest gives its true score and the others cannot beat it.
	known := Known(p)
	for _, in := range interests {
		if in.Weight == 0 || known && in.Weight < MatchInterest {
			continue
		}
		tw := topicScore(in.Weight)
		for _, i := range pk.topics[in.Topic] {
			if pk.items[i].bound+tw < s.score {
				break // postings follow items' order: the rest score less
			}
			s.try(i, tw)
		}
	}
	// Every item without its topic bonus, in order of the best score it
	// could reach: stop at the first that cannot beat the best found. Not
	// for a subscriber the bot knows: an item about none of their
	// interests is no good to them (KnownInterest).
	for i := 0; i < len(pk.items) && !known; i++ {
		if pk.items[i].bound < s.score {
			break
		}
		s.try(int32(i), 0)
	}
	if s.best < 0 {
		return nil, 0, false
	}
	return pk.items[s.best].item, s.score, true
}

// pickState is one Pick call's search state; it lives on the stack.
type pickState struct {
	pk          *Picker
	best        int32
	score       float64
	group, town int32 // the subscriber's dense indexes, -1 if no item names them
	pop         int32 // the subscriber's group's popularity index, -1 if none
	crops       uint8 // the subscriber's specialty interests (interestMask)
	received    func(string) bool
	optOut      func(string) bool
}

// try considers item i with topic bonus tw; the caller checked that the
// item's bound plus tw can reach the best score.
func (s *pickState) try(i int32, tw float64) {
	pi := &s.pk.items[i]
	if otherSpecialty(pi.crops, s.crops) {
		return
	}
	var fit float64
	if pi.groups != nil {
		if !slices.Contains(pi.groups, s.group) {
			return
		}
		fit += WeightGroup
	}
	if pi.towns != nil {
		if !slices.Contains(pi.towns, s.town) {
			return
		}
		fit += WeightTown
	}
	if pi.pop != nil && s.pop >= 0 {
		fit += pi.pop[s.pop]
	}
	sc := pi.base + tw + fit
	if sc < s.score || (sc == s.score && (s.best == i || pi.id >= s.pk.items[s.best].id)) {
		return
	}
	if s.received != nil && s.received(pi.id) {
		return
	}
	if s.optOut != nil {
		for _, topic := range pi.item.Topics {
			if s.optOut(topic) {
				return
			}
		}
	}
	s.best, s.score = i, sc
}
