package plan

import (
	"math"
	"slices"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
)

// Scoring weights, in points. An item's score is the sum of
//
//	WeightTopic    × (strongest interest weight among the item's topics) / 255
//	WeightPriority × Priority / 100 (clamped to 0–100)
//	WeightSeason     when the item has a season and it is now;
//	−PenaltyOffSeason when it has one and it is not now
//	WeightFresh    × 2^(−age / FreshHalfLife), age since it became valid
//	WeightGroup      when the item names the subscriber's group
//	WeightTown       when the item names the subscriber's town
//	WeightPopular  × the item's popularity among subscribers of the same
//	                 group (Popularity, 0–1), when the Picker has it
//
// The score is a log-odds: ClickProbability maps it to the expected
// chance that the subscriber opens the item. What the subscriber showed
// interest in dominates: the group and town are priors worth together less
// than one click (profile weights: a click adds 40/255, i.e. 15.7 points,
// against 6 + 4 for the group and town), so an on-topic item for everyone
// beats an off-topic one for the subscriber's group and town once the bot
// has learned anything. An item out of season loses to any comparable item
// in season (it is still picked when nothing else is left: seasonal advice
// is rarely wrong, only less timely). Items for everyone (no groups, no
// towns) get neither fit bonus; items that name other groups or other
// towns only are never picked.
//
// No good item, no push: once the bot knows what a subscriber likes (an
// interest of at least KnownInterest: a choice, a click, two searches), an
// item about none of their interests of at least MatchInterest is
// Excluded for them, however well it fits their group and town. A push
// they would most likely ignore spends one of their four mass sends a
// month and teaches them to ignore the account; sending nothing that time
// is the better choice (the campaign counts them skipped, no_good_item).
// A subscriber the bot knows nothing about still gets the best item for
// their group and town: that is the best guess there is.
const (
	WeightTopic      = 100.0
	WeightPriority   = 12.0
	WeightSeason     = 12.0
	PenaltyOffSeason = 60.0
	WeightFresh      = 6.0
	WeightGroup      = 6.0
	WeightTown       = 4.0
	WeightPopular    = 10.0

	// KnownInterest is the interest weight (of profile.WeightMax) from
	// which the bot knows what a subscriber likes: a choice (200), a
	// click (+40) or two searches (+20 each).
	KnownInterest = 40
	// MatchInterest is the least weight of an interest an item must be
	// about to go to a subscriber the bot knows (one search: +20).
	MatchInterest = 20

	// FreshHalfLife is the age at which the freshness bonus halves.
	FreshHalfLife = 30 * 24 * time.Hour
	// SolarTermSpan is how many days before and after a solar term (节气)
	// an item tied to it is in season.
	SolarTermSpan = 7
)

// Calibration of ClickProbability: a score of ProbMid is an even chance,
// and every ProbScale points more (or less) multiply the odds by e. The
// numbers are set so that an item on a chosen interest (200/255: 78
// points) with average priority and freshness is about a one-in-three
// chance and an item on nothing the subscriber showed is a few percent,
// the click-through ranges of the simulation (kepubot simulate).
const (
	ProbMid   = 100.0
	ProbScale = 22.0
)

// ClickProbability maps a score to the expected probability, 0–1, that the
// subscriber opens the item; 0 for Excluded.
func ClickProbability(score float64) float64 {
	if math.IsInf(score, -1) {
		return 0
	}
	return 1 / (1 + math.Exp(-(score-ProbMid)/ProbScale))
}

// Popularity is how well items did among similar subscribers: by group id
// ("" for subscribers without a group), by item id, a share from 0 (no
// clicks) to 1 (the group's most-clicked item). The campaign engine
// counts it from tracked clicks.
type Popularity map[string]map[string]float64

// Specialties are the farming topics that name what a farmer grows or
// raises (DOMAIN.md's fixed ids). A tip on one of them is useless to a
// farmer who raises something else: a subscriber interested in some
// specialties never gets an item whose specialties are all others (no
// litchi tip for a fish farmer); they get their own, or an item for their
// group on no specialty (weather, health), or nothing. A subscriber with
// no specialty among their interests may get any.
var Specialties = [...]string{"litchi", "rice", "vegetables", "aquaculture", "livestock"}

// specialtyMask returns a bit per specialty among topics.
func specialtyMask(topics []string) uint8 {
	var m uint8
	for _, t := range topics {
		for i, s := range Specialties {
			if t == s {
				m |= 1 << i
			}
		}
	}
	return m
}

// interestMask returns a bit per specialty p is interested in (weight > 0).
func interestMask(interests []profile.Interest) uint8 {
	var m uint8
	for _, in := range interests {
		if in.Weight == 0 {
			continue
		}
		for i, s := range Specialties {
			if in.Topic == s {
				m |= 1 << i
			}
		}
	}
	return m
}

// otherSpecialty reports whether an item with specialty mask item is about
// other specialties only, for a subscriber with specialty interests mine.
func otherSpecialty(item, mine uint8) bool { return item != 0 && mine != 0 && item&mine == 0 }

// Known reports whether the bot knows what p likes: an interest of at
// least KnownInterest. Items about none of a known subscriber's interests
// are never picked for them (see KnownInterest).
func Known(p *profile.Profile) bool {
	if p == nil {
		return false
	}
	for _, in := range p.Interests {
		if in.Weight >= KnownInterest {
			return true
		}
	}
	return false
}

// Excluded is the score of an item that must not go to the subscriber.
var Excluded = math.Inf(-1)

// Score returns how well it suits p at now (loc is the district's time
// zone), or Excluded when the item is not published, now is outside its
// validity window, it names other groups or other towns only, it is
// about other farming specialties only (see Specialties), or the bot
// knows what p likes and it is about none of it (see KnownInterest). What a
// subscriber already received and per-topic opt-outs are not the item's
// properties: Pick and Picker apply them.
func Score(p *profile.Profile, it *content.Item, now time.Time, loc *time.Location) float64 {
	if !live(it, now) {
		return Excluded
	}
	var group, town string
	var interests []profile.Interest
	if p != nil {
		group, town, interests = p.Group, p.Town, p.Interests
	}
	gfit, ok := audienceFit(it.Groups, group, WeightGroup)
	if !ok {
		return Excluded
	}
	tfit, ok := audienceFit(it.Towns, town, WeightTown)
	if !ok {
		return Excluded
	}
	if otherSpecialty(specialtyMask(it.Topics), interestMask(interests)) {
		return Excluded
	}
	var w uint8
	for _, in := range interests {
		if in.Weight > w && slices.Contains(it.Topics, in.Topic) {
			w = in.Weight
		}
	}
	if w < MatchInterest && Known(p) {
		return Excluded
	}
	return baseScore(it, now, loc) + topicScore(w) + (gfit + tfit)
}

// live reports whether it is published and valid at now.
func live(it *content.Item, now time.Time) bool {
	return it != nil && it.Status == content.StatusPublished &&
		(it.ValidFrom.IsZero() || !now.Before(it.ValidFrom)) &&
		(it.ValidUntil.IsZero() || now.Before(it.ValidUntil))
}

// audienceFit returns the bonus for an audience list: 0 for an empty list
// (everyone), bonus when it names id, and false when it names others only.
func audienceFit(list []string, id string, bonus float64) (float64, bool) {
	if len(list) == 0 {
		return 0, true
	}
	if id != "" && slices.Contains(list, id) {
		return bonus, true
	}
	return 0, false
}

func topicScore(w uint8) float64 { return WeightTopic * float64(w) / 255 }

// baseScore is the part of the score that depends on the item and now
// only: priority, season and freshness.
func baseScore(it *content.Item, now time.Time, loc *time.Location) float64 {
	pr := min(max(it.Priority, 0), 100)
	return WeightPriority*float64(pr)/100 + seasonScore(it.Season, now, loc) + freshScore(it, now)
}

func seasonScore(s content.Season, now time.Time, loc *time.Location) float64 {
	lt := in(now, loc)
	known := len(s.Months) > 0
	if slices.Contains(s.Months, int(lt.Month())) {
		return WeightSeason
	}
	day := DayNumber(now, loc)
	for _, name := range s.SolarTerms {
		if _, ok := solarTermIndex[name]; !ok {
			continue // validation rejects these; an unknown name says nothing
		}
		known = true
		if nearSolarTerm(name, day, lt.Year()) {
			return WeightSeason
		}
	}
	if known {
		return -PenaltyOffSeason
	}
	return 0
}

// freshScore prefers newer items slightly. An item's age counts from the
// later of its creation and the start of its validity.
func freshScore(it *content.Item, now time.Time) float64 {
	born := it.CreatedAt
	if it.ValidFrom.After(born) {
		born = it.ValidFrom
	}
	if born.IsZero() {
		return 0
	}
	age := now.Sub(born)
	if age <= 0 {
		return WeightFresh
	}
	return WeightFresh * math.Exp2(-float64(age)/float64(FreshHalfLife))
}

// Pick returns the best item for p among items at now: the highest Score,
// ties broken by the smaller item id, never an item p already received
// (received(id)), never one with a topic p opted out of (topicOptOut(topic);
// either function may be nil). ok is false when no item qualifies.
//
// Pick builds a Picker each call; to pick for many subscribers, build one
// Picker and call its Pick.
func Pick(p *profile.Profile, items []*content.Item, received func(itemID string) bool,
	topicOptOut func(topic string) bool, now time.Time, loc *time.Location) (best *content.Item, score float64, ok bool) {
	return NewPicker(items, loc, now).Pick(p, received, topicOptOut)
}
