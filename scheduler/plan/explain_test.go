package plan

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
)

// clicked returns a farmer in paitan who chose nothing and opened n items
// on each of topics (a click adds clickWeight, as the campaign engine's
// Click does).
func clicked(n int, topics ...string) *profile.Profile {
	p := &profile.Profile{OpenID: "o1", Group: "farmer", Town: "paitan", Subscribed: true}
	for range n {
		for _, t := range topics {
			p.AddInterestWeight(t, clickWeight)
		}
	}
	return p
}

// searched is clicked for searches: each adds searchWeight.
func searched(n int, topics ...string) *profile.Profile {
	p := &profile.Profile{OpenID: "o1", Group: "farmer", Town: "paitan", Subscribed: true}
	for range n {
		for _, t := range topics {
			p.AddInterestWeight(t, searchWeight)
		}
	}
	return p
}

// searchWeight mirrors bot's search boost (20/255).
const searchWeight = 20

// clickWeight mirrors scheduler/campaign's click boost (40/255).
const clickWeight = 40

// Small hand-made districts: what a subscriber did decides what they get,
// and their group and town only break ties.
func TestPickLearnsFromBehaviour(t *testing.T) {
	t.Parallel()
	b := setupPick(t)
	mk := func(id string, topics []string, groups, towns []string) *content.Item {
		return b.item(id, func(it *content.Item) { it.Topics, it.Groups, it.Towns = topics, groups, towns })
	}
	litchiHere := mk("litchi-paitan-farmers", []string{"litchi", "agriculture"}, []string{"farmer"}, []string{"paitan"})
	riceHere := mk("rice-paitan-farmers", []string{"rice"}, []string{"farmer"}, []string{"paitan"})
	health := mk("health-1", []string{"health"}, nil, nil)
	health2 := mk("health-2", []string{"health", "safety"}, nil, nil)
	science := mk("science-everyone", []string{"science_education"}, nil, nil)
	safety := mk("safety-everyone", []string{"safety"}, nil, nil)
	all := []*content.Item{litchiHere, riceHere, health, health2, science, safety}
	healthAndSafety := clicked(1, "health")
	healthAndSafety.AddInterestWeight("safety", searchWeight)
	tests := []struct {
		name     string
		p        *profile.Profile
		received []string
		want     string
	}{
		{"a farmer who never clicked gets his group and town's item", clicked(0), nil, "litchi-paitan-farmers"},
		{"a farmer who only ever opens health items gets health items", clicked(3, "health"), nil, "health-1"},
		{"and the next health item after that one", clicked(3, "health"), []string{"health-1"}, "health-2"},
		{"one click outweighs the group and town together", clicked(1, "health"), nil, "health-1"},
		{"when health runs out: nothing, not his group's item he would not open", clicked(3, "health"), []string{"health-1", "health-2"}, ""},
		{"a weaker interest (one search) before his group's item on nothing he likes", healthAndSafety, []string{"health-1", "health-2"}, "safety-everyone"},
		{"one search is not enough to know him: his group and town's item", searched(1, "health"), []string{"health-1", "health-2"}, "litchi-paitan-farmers"},
		{"a student's clicks on science", func() *profile.Profile {
			p := clicked(2, "science_education")
			p.Group, p.Town = "student", "licheng"
			return p
		}(), nil, "science-everyone"},
	}
	pk := NewPicker(all, b.loc, b.now)
	for _, tt := range tests {
		recv := func(id string) bool { return contains(tt.received, id) }
		got, _, ok := pk.Pick(tt.p, recv, nil)
		if ok != (tt.want != "") || ok && got.ID != tt.want {
			t.Errorf("%s: Pick() = %s, %v, want %s", tt.name, id(got), ok, tt.want)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestExplain(t *testing.T) {
	t.Parallel()
	b := setupPick(t)
	p := clicked(3, "health")
	it := b.item("h", func(it *content.Item) {
		it.Topics, it.Groups = []string{"health"}, []string{"farmer"}
		it.Season.Months = []int{5}
	})
	pop := Popularity{"farmer": {"h": 0.5}}
	ex := Explain(p, it, b.now, b.loc, pop)
	if got, want := ex.Factors[0].Name+":"+ex.Factors[0].Topic, "interest:health"; got != want {
		t.Errorf("Explain() top factor = %s, want %s (%+v)", got, want, ex.Factors)
	}
	var sum float64
	names := map[string]bool{}
	for _, f := range ex.Factors {
		sum += f.Points
		names[f.Name] = true
	}
	for _, want := range []string{"interest", "group", "season", "fresh", "priority", "popular"} {
		if !names[want] {
			t.Errorf("Explain() factors %+v lack %s", ex.Factors, want)
		}
	}
	if names["town"] {
		t.Errorf("Explain() factors %+v name the town, which the item does not", ex.Factors)
	}
	if want := Score(p, it, b.now, b.loc) + WeightPopular*0.5; math.Abs(ex.Score-want) > 1e-9 || math.Abs(sum-want) > 0.05 {
		t.Errorf("Explain().Score = %v (factors sum %v), want %v", ex.Score, sum, want)
	}
	if got := ex.Probability; got <= 0 || got >= 1 || got != ClickProbability(ex.Score) {
		t.Errorf("Explain().Probability = %v, want ClickProbability(%v) in (0, 1)", got, ex.Score)
	}
	if got := Explain(p, b.item("x", func(it *content.Item) { it.Groups = []string{"youth"} }), b.now, b.loc, nil); got.Score != Excluded || got.Probability != 0 {
		t.Errorf("Explain(other group) = %+v, want Excluded, probability 0", got)
	}
}

func TestClickProbability(t *testing.T) {
	t.Parallel()
	tests := []struct {
		score   float64
		low, up float64
	}{
		{Excluded, 0, 0},
		{0, 0.005, 0.02},
		{ProbMid, 0.5, 0.5},
		{WeightTopic*profile.WeightChosen/255 + WeightPriority/2 + WeightFresh/2, 0.2, 0.45},
		{300, 0.99, 1},
	}
	for _, tt := range tests {
		if got := ClickProbability(tt.score); got < tt.low || got > tt.up {
			t.Errorf("ClickProbability(%v) = %v, want in [%v, %v]", tt.score, got, tt.low, tt.up)
		}
	}
}

// TestPopularPickerMatchesNaive checks the Picker with popularity against
// Explain on every item.
func TestPopularPickerMatchesNaive(t *testing.T) {
	t.Parallel()
	b := setupPick(t)
	rng := rand.New(rand.NewPCG(9, 10))
	for round := range 30 {
		items := syntheticItems(rng, 20+rng.IntN(100), b.now)
		pop := Popularity{}
		for _, g := range []string{"farmer", "student", ""} {
			pop[g] = map[string]float64{}
			for range 10 {
				pop[g][items[rng.IntN(len(items))].ID] = rng.Float64()
			}
		}
		pk := NewPopularPicker(items, b.loc, b.now, pop)
		for range 100 {
			p := syntheticProfile(rng)
			got, gs, gok := pk.Pick(p, nil, nil)
			var want *content.Item
			ws := Excluded
			for _, it := range items {
				s := Explain(p, it, b.now, b.loc, pop).Score
				if s == Excluded || s < ws-1e-9 || (math.Abs(s-ws) <= 1e-9 && it.ID >= want.ID) {
					continue
				}
				want, ws = it, s
			}
			if got != want || (gok && math.Abs(gs-ws) > 1e-9) || gok != (want != nil) {
				t.Fatalf("round %d: Pick(%+v) = %s (%v), naive = %s (%v)", round, p, id(got), gs, id(want), ws)
			}
		}
	}
}
