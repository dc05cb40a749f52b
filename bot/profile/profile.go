// Package profile keeps every subscriber's profile in Redis, indexed for
// precise targeting.
//
// Layout (all key names are built in keys.go): an account's subscribers are
// split into Shards by a hash of their openid. Everything about one
// subscriber — the openid→id map entry, the packed profile, the dialog state,
// the webhook dedup records and the subscriber's bits in every segment bitmap
// — lives under one hash tag {kb:<account>:<shard>}, so each webhook message
// is two atomic Lua calls on one Redis Cluster slot. Within a shard each
// subscriber has a dense local id, and every segment index (group, town,
// interest, state, source, active day) is a bitmap over those ids: an
// audience over 1.5 M subscribers is a handful of BITOPs per shard inside
// Redis, never a scan of profiles.
//
// Profiles are packed (codec.go) into ≤64 bytes so that Redis keeps each
// bucket of 64 subscribers as one compact listpack hash.
package profile

import (
	"errors"
	"math"
	"slices"
	"time"
)

// Shards is the fixed number of shards per account. It is part of the
// storage layout: changing it needs a migration.
const Shards = 32

// MaxInterests bounds the interests a profile keeps, so a packed profile
// stays within Redis's compact listpack value size.
const MaxInterests = 8

// Interest weights. Onboarding choices start at WeightChosen; behaviour
// (searches, clicks) raises or decays them within [0, WeightMax].
const (
	WeightChosen = 200
	WeightMax    = 255
)

// Onboarding steps, kept in the profile so a user can answer later.
const (
	StepNone Step = iota
	StepGroup
	StepTown
	StepInterests
)

// Step is the onboarding question the subscriber was last asked.
type Step uint8

// ID identifies a subscriber densely within an account: its shard and its
// local id in that shard's bitmaps.
type ID struct {
	Shard int
	Local int64
}

// Uint64 packs the id into one number for APIs and logs.
func (id ID) Uint64() uint64 { return uint64(id.Shard)<<40 | uint64(id.Local) }

// IDFromUint64 reverses ID.Uint64.
func IDFromUint64(v uint64) ID { return ID{Shard: int(v >> 40), Local: int64(v & (1<<40 - 1))} }

// Interest is a topic and how much the subscriber cares about it.
type Interest struct {
	Topic  string
	Weight uint8
}

// Profile is everything kepubot keeps about one subscriber. It holds ids
// (group, town, topic ids from the taxonomy), never free text about a person.
type Profile struct {
	OpenID    string
	Group     string
	Town      string
	Interests []Interest
	Source    string // channel the subscriber came through (QR scene source)

	Subscribed bool // follows the account now
	OptedOut   bool // said 退订: no pushes
	Step       Step // onboarding question pending
	// Elder is elder mode (长辈模式): pushes as a short plain text (and
	// the item's voice), chat replies in short sentences.
	Elder bool

	CreatedAt    time.Time
	LastActiveAt time.Time
	// OptChangedAt is the WeChat CreateTime of the message that last changed
	// Subscribed or OptedOut: an older message (a late retry) never overrides
	// a newer decision.
	OptChangedAt time.Time
	// InterestsAt is when interest weights were last adjusted (for decay).
	InterestsAt time.Time

	// Customer-service windows (WECHAT.md): a user message opens 48 h / 5
	// messages; a follow, menu click or QR scan opens 1 min / 3 messages.
	LastMessageAt time.Time
	MessagesUsed  uint8
	LastEventAt   time.Time
	EventMsgsUsed uint8

	// Mass-send budget: mass messages counted in MassMonth (months since
	// 2000-01 in the account's time zone). Not stored in the profile: the
	// month's budget bitmaps are its one record (MassLevelIndex), and a
	// planner that reads them sets these (SetMassCount) before deciding.
	MassMonth uint16
	MassCount uint8

	// Reading is when the subscriber usually reads (BestHour).
	Reading Reading
}

// Reading is a decaying circular mean of the times of day a subscriber
// writes to the bot or opens a link: a point on the 24-hour clock face
// whose direction is the usual hour and whose length (0–127) how regular
// it is. Two bytes; the zero value knows nothing.
type Reading struct{ X, Y int8 }

// Note adds an activity at t: the mean moves a quarter of the way towards
// t's time of day.
func (r *Reading) Note(t time.Time) {
	u := t.UTC()
	a := 2 * math.Pi * (float64(u.Hour()) + float64(u.Minute())/60) / 24
	x := 0.75*float64(r.X) + 0.25*127*math.Cos(a)
	y := 0.75*float64(r.Y) + 0.25*127*math.Sin(a)
	r.X, r.Y = int8(math.Round(x)), int8(math.Round(y))
	if r.X == 0 && r.Y == 0 {
		r.X = 1 // something was noted
	}
}

// BestHour returns the hour (0–23, in loc) the subscriber usually reads
// at, or false when nothing was noted.
func (r Reading) BestHour(loc *time.Location) (int, bool) {
	if r.X == 0 && r.Y == 0 {
		return 0, false
	}
	if loc == nil {
		loc = time.UTC
	}
	h := math.Atan2(float64(r.Y), float64(r.X)) / (2 * math.Pi) * 24
	if h < 0 {
		h += 24
	}
	at := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h * float64(time.Hour)))
	at = at.Add(30 * time.Minute).Truncate(time.Hour) // the nearest hour
	return at.In(loc).Hour(), true
}

// ErrNotFound is returned for an openid kepubot does not know.
var ErrNotFound = errors.New("subscriber not found")

// ErrConflict is returned by Commit when the profile changed since Begin;
// the caller reloads and handles the message again.
var ErrConflict = errors.New("profile changed concurrently")

// ErrDuplicate is returned by Commit when another attempt already handled
// the same WeChat message.
var ErrDuplicate = errors.New("message already handled")

// Clone returns a deep copy, so a handler can change it and the store can
// still diff against the original.
func (p *Profile) Clone() *Profile {
	if p == nil {
		return nil
	}
	c := *p
	c.Interests = append([]Interest(nil), p.Interests...)
	return &c
}

// Reachable reports whether pushes may go to the subscriber at all.
func (p *Profile) Reachable() bool { return p.Subscribed && !p.OptedOut }

// HasInterest reports whether topic is among the interests.
// A topic kept at weight 0 is a per-topic opt-out ("不看 荔枝"): it is no
// interest, and delivery never sends items of that topic.
func (p *Profile) HasInterest(topic string) bool {
	for _, in := range p.Interests {
		if in.Topic == topic {
			return in.Weight > 0
		}
	}
	return false
}

// OptedOutOf reports whether the subscriber asked not to receive topic.
func (p *Profile) OptedOutOf(topic string) bool {
	for _, in := range p.Interests {
		if in.Topic == topic {
			return in.Weight == 0
		}
	}
	return false
}

// OptOutTopic records that the subscriber wants no items of topic.
func (p *Profile) OptOutTopic(topic string) { p.SetInterest(topic, 0) }

// OptOutTopics lists the topics the subscriber opted out of.
func (p *Profile) OptOutTopics() []string {
	var ids []string
	for _, in := range p.Interests {
		if in.Weight == 0 {
			ids = append(ids, in.Topic)
		}
	}
	return ids
}

// InterestIDs lists interest topics, strongest first.
func (p *Profile) InterestIDs() []string {
	ids := make([]string, 0, len(p.Interests))
	for _, in := range p.Interests {
		if in.Weight > 0 {
			ids = append(ids, in.Topic)
		}
	}
	return ids
}

// SetInterest sets topic's weight, adding it if new. When the profile is
// full the weakest interest makes room. Interests stay sorted by weight.
func (p *Profile) SetInterest(topic string, w uint8) {
	for i := range p.Interests {
		if p.Interests[i].Topic == topic {
			p.Interests[i].Weight = w
			p.sortInterests()
			return
		}
	}
	if len(p.Interests) >= MaxInterests {
		// Make room: drop the weakest interest, or the oldest opt-out when
		// nothing else is left.
		drop := len(p.Interests) - 1
		for i := len(p.Interests) - 1; i >= 0; i-- {
			if p.Interests[i].Weight > 0 {
				drop = i
				break
			}
		}
		p.Interests = append(p.Interests[:drop], p.Interests[drop+1:]...)
	}
	p.Interests = append(p.Interests, Interest{Topic: topic, Weight: w})
	p.sortInterests()
}

// AddInterestWeight raises (or with a negative delta lowers) topic's
// weight, clamped to [0, WeightMax]; a topic at weight 0 is dropped.
func (p *Profile) AddInterestWeight(topic string, delta int) {
	if p.OptedOutOf(topic) {
		return // behaviour never overrides an explicit opt-out
	}
	w := delta
	for _, in := range p.Interests {
		if in.Topic == topic {
			w += int(in.Weight)
		}
	}
	switch {
	case w <= 0:
		p.RemoveInterest(topic)
	case w > WeightMax:
		p.SetInterest(topic, WeightMax)
	default:
		p.SetInterest(topic, uint8(w))
	}
}

// CreditTopics raises interest in the topics of an item the subscriber
// opened, by boost in all: when some of them are already interests, the
// strongest of those gets the whole boost and the others a third (the
// click most likely came for what the subscriber is known to like; the
// item's other topics, often broad ones like agriculture or safety, are
// weaker evidence); when none is, each gets the boost. Opted-out topics
// stay opted out. Call DecayInterests first.
func (p *Profile) CreditTopics(topics []string, boost int) {
	best, bw := "", uint8(0)
	for _, t := range topics {
		for _, in := range p.Interests {
			if in.Topic == t && in.Weight > bw {
				best, bw = t, in.Weight
			}
		}
	}
	for _, t := range topics {
		if best == "" || t == best {
			p.AddInterestWeight(t, boost)
		} else {
			p.AddInterestWeight(t, boost/3)
		}
	}
}

// InterestHalfLife is how fast interest learned from behaviour fades: a
// weight above WeightChosen loses half its excess per half-life. What the
// subscriber chose stays.
const InterestHalfLife = 30 * 24 * time.Hour

// DecayInterests fades learned interest since InterestsAt (searches and
// clicks raise weights above WeightChosen, or add topics below it);
// learned topics that fade under 10 are dropped. Call it before raising
// a weight; it sets InterestsAt to now.
func (p *Profile) DecayInterests(now time.Time) {
	if p.InterestsAt.IsZero() || !now.After(p.InterestsAt) {
		if p.InterestsAt.IsZero() {
			p.InterestsAt = now
		}
		return
	}
	f := math.Pow(0.5, float64(now.Sub(p.InterestsAt))/float64(InterestHalfLife))
	out := p.Interests[:0]
	for _, in := range p.Interests {
		w := float64(in.Weight)
		switch {
		case w > WeightChosen:
			w = WeightChosen + (w-WeightChosen)*f
		case w < WeightChosen && w > 0:
			w *= f
		}
		// Compare the stored (rounded) weight: a weight of 10 decayed for
		// a second is still 10, not 9.99 and gone.
		if w = math.Round(w); w >= 10 || in.Weight == WeightChosen || in.Weight == 0 {
			out = append(out, Interest{Topic: in.Topic, Weight: uint8(w)})
		}
	}
	p.Interests = out
	p.sortInterests()
	p.InterestsAt = now
}

// RemoveInterest drops topic from the interests.
func (p *Profile) RemoveInterest(topic string) {
	out := p.Interests[:0]
	for _, in := range p.Interests {
		if in.Topic != topic {
			out = append(out, in)
		}
	}
	p.Interests = out
}

func (p *Profile) sortInterests() {
	// Insertion sort: at most MaxInterests entries; stable for equal weights.
	for i := 1; i < len(p.Interests); i++ {
		for j := i; j > 0 && p.Interests[j].Weight > p.Interests[j-1].Weight; j-- {
			p.Interests[j], p.Interests[j-1] = p.Interests[j-1], p.Interests[j]
		}
	}
}

// TouchMessage records a message from the user at t: it opens the 48-hour
// customer-service window with a fresh quota.
func (p *Profile) TouchMessage(t time.Time) {
	if t.After(p.LastMessageAt) {
		// An older message handled late (on two replicas, or recorded
		// after a newer one: bot.recorder) opens no window of its own.
		p.LastMessageAt, p.MessagesUsed = t, 0
	}
	p.Reading.Note(t)
	p.touch(t)
}

// TouchEvent records a follow, menu click or QR scan at t: it opens the
// 1-minute, 3-message window.
func (p *Profile) TouchEvent(t time.Time) {
	if t.After(p.LastEventAt) {
		p.LastEventAt, p.EventMsgsUsed = t, 0
	}
	p.touch(t)
}

func (p *Profile) touch(t time.Time) {
	if t.After(p.LastActiveAt) {
		p.LastActiveAt = t
	}
}

// OnlyActivity reports whether after differs from before at most in what
// any message or event records of the subscriber's activity: the
// customer-service windows (TouchMessage, TouchEvent), LastActiveAt and
// Reading. It is the profile of a message that changed nothing else (a
// help, a search without a topic); false when either is nil.
func OnlyActivity(before, after *Profile) bool {
	if before == nil || after == nil {
		return false
	}
	a, b := *after, *before
	a.LastActiveAt, a.LastMessageAt, a.MessagesUsed = b.LastActiveAt, b.LastMessageAt, b.MessagesUsed
	a.LastEventAt, a.EventMsgsUsed, a.Reading = b.LastEventAt, b.EventMsgsUsed, b.Reading
	a.MassMonth, a.MassCount = b.MassMonth, b.MassCount // not stored (SetMassCount)
	return a.OpenID == b.OpenID && a.Group == b.Group && a.Town == b.Town && a.Source == b.Source &&
		slices.Equal(a.Interests, b.Interests) &&
		a.Subscribed == b.Subscribed && a.OptedOut == b.OptedOut && a.Step == b.Step && a.Elder == b.Elder &&
		a.CreatedAt.Equal(b.CreatedAt) && a.OptChangedAt.Equal(b.OptChangedAt) && a.InterestsAt.Equal(b.InterestsAt)
}

// SetMassCount sets p's mass-send budget of month from the month's
// budget bitmaps as read by Bits (MassLevelIndexes), at bit i.
func (p *Profile) SetMassCount(month uint16, levels [][]byte, i int64) {
	p.MassMonth, p.MassCount = month, MassCountAt(levels, i)
}
