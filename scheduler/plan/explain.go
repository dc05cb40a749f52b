package plan

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
)

// Factor is one reason an item scored as it did for a subscriber.
type Factor struct {
	// Name is interest, group, town, season, off_season, fresh, priority
	// or popular.
	Name string `json:"factor"`
	// Topic is the interest's topic id (Name interest only).
	Topic  string  `json:"topic,omitempty"`
	Points float64 `json:"points"`
}

// Explanation says why an item suits a subscriber: its score, the
// expected click probability (ClickProbability) and the factors that make
// up the score, largest effect first.
type Explanation struct {
	Score       float64  `json:"score"`
	Probability float64  `json:"probability"`
	Factors     []Factor `json:"factors"`
}

// Explain returns the factors of it's score for p at now, with the
// popularity pop (may be nil). Its Score is Score's plus the popularity
// factor; an excluded item has Score Excluded, probability 0 and no
// factors.
func Explain(p *profile.Profile, it *content.Item, now time.Time, loc *time.Location, pop Popularity) Explanation {
	s := Score(p, it, now, loc)
	if s == Excluded {
		return Explanation{Score: Excluded}
	}
	var group string
	var interests []profile.Interest
	if p != nil {
		group, interests = p.Group, p.Interests
	}
	var fs []Factor
	add := func(name, topic string, pts float64) {
		if pts != 0 {
			fs = append(fs, Factor{Name: name, Topic: topic, Points: round2(pts)})
		}
	}
	var best profile.Interest
	for _, in := range interests {
		if in.Weight > best.Weight && slices.Contains(it.Topics, in.Topic) {
			best = in
		}
	}
	add("interest", best.Topic, topicScore(best.Weight))
	if len(it.Groups) > 0 {
		add("group", "", WeightGroup)
	}
	if len(it.Towns) > 0 {
		add("town", "", WeightTown)
	}
	if ss := seasonScore(it.Season, now, loc); ss > 0 {
		add("season", "", ss)
	} else {
		add("off_season", "", ss)
	}
	add("fresh", "", freshScore(it, now))
	add("priority", "", WeightPriority*float64(min(max(it.Priority, 0), 100))/100)
	pp := popScore(pop, group, it.ID)
	add("popular", "", pp)
	s += pp
	slices.SortStableFunc(fs, func(a, b Factor) int { return cmp.Compare(math.Abs(b.Points), math.Abs(a.Points)) })
	return Explanation{Score: s, Probability: ClickProbability(s), Factors: fs}
}

// popScore is the popularity bonus of item id for a subscriber of group.
func popScore(pop Popularity, group, id string) float64 {
	if pop == nil {
		return 0
	}
	return WeightPopular * min(max(pop[group][id], 0), 1)
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
