package plan

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
)

// pickBundle is what a picking test needs: the district's time zone, an
// instant in litchi season (May, near 立夏 and 小满) and an item builder.
type pickBundle struct {
	loc *time.Location
	now time.Time
}

func setupPick(t testing.TB) pickBundle {
	t.Helper()
	loc := shanghai(t)
	return pickBundle{loc: loc, now: time.Date(2026, 5, 12, 10, 0, 0, 0, loc)}
}

// item returns a published item valid around b.now, for everyone, changed
// by f.
func (b pickBundle) item(id string, f func(it *content.Item)) *content.Item {
	it := &content.Item{
		ID: id, Status: content.StatusPublished, Priority: 50,
		CreatedAt: b.now.AddDate(0, 0, -10), ValidFrom: b.now.AddDate(0, 0, -10), ValidUntil: b.now.AddDate(0, 1, 0),
	}
	if f != nil {
		f(it)
	}
	return it
}

func litchiFarmer() *profile.Profile {
	p := &profile.Profile{OpenID: "o1", Group: "farmer", Town: "paitan", Subscribed: true}
	p.SetInterest("litchi", profile.WeightChosen)
	p.SetInterest("weather", 120)
	return p
}

func TestPickPreferences(t *testing.T) {
	t.Parallel()
	b := setupPick(t)
	topics := func(ts ...string) func(*content.Item) { return func(it *content.Item) { it.Topics = ts } }
	tests := []struct {
		name     string
		items    []*content.Item
		received []string
		optOut   []string
		want     string // "" = nothing
	}{
		{"litchi before generic", []*content.Item{
			b.item("generic", func(it *content.Item) { it.Priority = 100 }),
			b.item("litchi", topics("litchi")),
		}, nil, nil, "litchi"},
		{"youth-only never goes to a farmer", []*content.Item{
			b.item("youth", func(it *content.Item) {
				it.Topics = []string{"litchi"}
				it.Groups = []string{"youth"}
				it.Priority = 100
			}),
			b.item("generic", func(it *content.Item) { it.Priority = 0; it.Topics = []string{"weather"} }),
		}, nil, nil, "generic"},
		{"youth-only alone: nothing", []*content.Item{
			b.item("youth", func(it *content.Item) { it.Groups = []string{"youth"} }),
		}, nil, nil, ""},
		{"xintang-only never goes to paitan", []*content.Item{
			b.item("xintang", func(it *content.Item) { it.Topics = []string{"litchi"}; it.Towns = []string{"xintang"} }),
			b.item("generic", topics("weather")),
		}, nil, nil, "generic"},
		{"own town and group win over everyone's", []*content.Item{
			b.item("a-everyone", topics("litchi")),
			b.item("b-paitan-farmers", func(it *content.Item) {
				it.Topics = []string{"litchi"}
				it.Towns = []string{"paitan"}
				it.Groups = []string{"farmer", "youth"}
			}),
		}, nil, nil, "b-paitan-farmers"},
		{"received items skipped", []*content.Item{
			b.item("litchi1", topics("litchi")),
			b.item("litchi2", topics("litchi")),
			b.item("generic", topics("weather")),
		}, []string{"litchi1", "litchi2"}, nil, "generic"},
		{"everything received: nothing", []*content.Item{b.item("x", topics("litchi"))}, []string{"x"}, nil, ""},
		{"nothing left on what he likes: nothing, not an item he would not open", []*content.Item{
			b.item("litchi1", topics("litchi")),
			b.item("for-paitan-farmers", func(it *content.Item) {
				it.Topics, it.Groups, it.Towns, it.Priority = []string{"rice"}, []string{"farmer"}, []string{"paitan"}, 100
			}),
			b.item("for-everyone", topics("health")),
		}, []string{"litchi1"}, nil, ""},
		{"opted-out topic skipped", []*content.Item{
			b.item("litchi-weather", topics("litchi", "weather")),
			b.item("generic", topics("litchi")),
		}, nil, []string{"weather"}, "generic"},
		{"in season beats out of season", []*content.Item{
			b.item("a-winter", func(it *content.Item) {
				it.Topics = []string{"litchi"}
				it.Season.Months = []int{12, 1}
				it.Priority = 100
			}),
			b.item("b-may", func(it *content.Item) { it.Topics = []string{"litchi"}; it.Season.Months = []int{5} }),
		}, nil, nil, "b-may"},
		{"solar term near now is in season", []*content.Item{
			b.item("a-qingming", func(it *content.Item) { it.Topics = []string{"litchi"}; it.Season.SolarTerms = []string{"清明"} }),
			b.item("b-lixia", func(it *content.Item) { it.Topics = []string{"litchi"}; it.Season.SolarTerms = []string{"立夏"} }),
		}, nil, nil, "b-lixia"},
		{"off season still better than nothing", []*content.Item{
			b.item("winter", func(it *content.Item) { it.Season.Months = []int{12}; it.Topics = []string{"litchi"} }),
		}, nil, nil, "winter"},
		{"expired never picked", []*content.Item{
			b.item("expired", func(it *content.Item) { it.Topics = []string{"litchi"}; it.ValidUntil = b.now }),
			b.item("future", func(it *content.Item) { it.Topics = []string{"litchi"}; it.ValidFrom = b.now.Add(time.Second) }),
		}, nil, nil, ""},
		{"unpublished never picked", []*content.Item{
			b.item("draft", func(it *content.Item) { it.Topics = []string{"litchi"}; it.Status = content.StatusApproved }),
			b.item("retired", func(it *content.Item) { it.Status = content.StatusRetired }),
		}, nil, nil, ""},
		{"ties broken by id", []*content.Item{b.item("b", topics("litchi")), b.item("c", topics("litchi")), b.item("a", topics("litchi"))}, nil, nil, "a"},
		{"stronger interest wins", []*content.Item{
			b.item("a-weather", topics("weather")),
			b.item("b-litchi", topics("litchi")),
		}, nil, nil, "b-litchi"},
		{"newer slightly preferred", []*content.Item{
			b.item("a-old", func(it *content.Item) {
				it.CreatedAt, it.Topics = b.now.AddDate(0, -6, 0), []string{"litchi"}
				it.ValidFrom = it.CreatedAt
			}),
			b.item("b-new", topics("litchi")),
		}, nil, nil, "b-new"},
		{"nil items ignored", []*content.Item{nil, b.item("x", topics("litchi"))}, nil, nil, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			received := func(id string) bool { return slices.Contains(tt.received, id) }
			optOut := func(topic string) bool { return slices.Contains(tt.optOut, topic) }
			got, score, ok := Pick(litchiFarmer(), tt.items, received, optOut, b.now, b.loc)
			var gotID string
			if got != nil {
				gotID = got.ID
			}
			if gotID != tt.want || ok != (tt.want != "") {
				t.Errorf("Pick() = %q (score %.2f), %v; want %q", gotID, score, ok, tt.want)
			}
			// The naive form agrees.
			nb, ns, nok := naivePick(litchiFarmer(), tt.items, received, optOut, b.now, b.loc)
			if nb != got || ns != score || nok != ok {
				t.Errorf("naivePick() = %v, %v, %v; Pick() = %v, %v, %v", nb, ns, nok, got, score, ok)
			}
		})
	}
}

func TestScore(t *testing.T) {
	t.Parallel()
	b := setupPick(t)
	// A farmer in paitan the bot knows nothing about yet: the priors alone.
	p := &profile.Profile{OpenID: "o1", Group: "farmer", Town: "paitan", Subscribed: true}
	tests := []struct {
		name string
		it   *content.Item
		want float64
	}{
		{"plain", b.item("x", func(it *content.Item) { it.CreatedAt, it.ValidFrom = time.Time{}, time.Time{} }), WeightPriority * 0.5},
		{"fresh today", b.item("x", func(it *content.Item) { it.Priority = 0; it.CreatedAt, it.ValidFrom = b.now, time.Time{} }), WeightFresh},
		{"fresh one half-life", b.item("x", func(it *content.Item) {
			it.Priority = 0
			it.CreatedAt = b.now.Add(-FreshHalfLife)
			it.ValidFrom = time.Time{}
		}), WeightFresh / 2},
		{"off season", b.item("x", func(it *content.Item) {
			it.Priority = 0
			it.CreatedAt, it.ValidFrom = time.Time{}, time.Time{}
			it.Season.Months = []int{1}
		}), -PenaltyOffSeason},
		{"unknown solar term alone: no season", b.item("x", func(it *content.Item) {
			it.Priority = 0
			it.CreatedAt, it.ValidFrom = time.Time{}, time.Time{}
			it.Season.SolarTerms = []string{"春节"}
		}), 0},
		{"priority clamped", b.item("x", func(it *content.Item) {
			it.Priority = 1000
			it.CreatedAt, it.ValidFrom = time.Time{}, time.Time{}
		}), WeightPriority},
		{"other group", b.item("x", func(it *content.Item) { it.Groups = []string{"youth"} }), Excluded},
		{"other town", b.item("x", func(it *content.Item) { it.Towns = []string{"xintang"} }), Excluded},
		{"draft", b.item("x", func(it *content.Item) { it.Status = content.StatusDraft }), Excluded},
	}
	for _, tt := range tests {
		if got := Score(p, tt.it, b.now, b.loc); math.Abs(got-tt.want) > 1e-9 && got != tt.want {
			t.Errorf("%s: Score() = %v, want %v", tt.name, got, tt.want)
		}
	}
	// Once the bot knows what he likes (litchi 200, weather 120), the
	// interest counts, and an item on nothing he likes is no good to him,
	// nor one on a topic he only brushed past (agriculture, a third of a
	// click).
	known := litchiFarmer()
	known.SetInterest("agriculture", 13)
	all := b.item("x", func(it *content.Item) {
		it.Priority = 100
		it.CreatedAt, it.ValidFrom = time.Time{}, time.Time{}
		it.Topics = []string{"weather", "litchi"}
		it.Groups, it.Towns = []string{"farmer"}, []string{"paitan"}
		it.Season.Months = []int{5}
	})
	if got, want := Score(known, all, b.now, b.loc), WeightTopic*200/255+WeightPriority+WeightSeason+WeightGroup+WeightTown; math.Abs(got-want) > 1e-9 {
		t.Errorf("all bonuses: Score() = %v, want %v", got, want)
	}
	for _, topics := range [][]string{nil, {"rice"}, {"agriculture"}} {
		it := b.item("x", func(it *content.Item) {
			it.Topics, it.Groups, it.Towns = topics, []string{"farmer"}, []string{"paitan"}
		})
		if got := Score(known, it, b.now, b.loc); got != Excluded {
			t.Errorf("Score(litchi farmer, item on %v for his group and town) = %v, want Excluded", topics, got)
		}
		if got := Score(p, it, b.now, b.loc); got == Excluded {
			t.Errorf("Score(farmer the bot knows nothing about, item on %v for his group and town) = Excluded, want a score", topics)
		}
	}
	// A subscriber who gave no group or town gets only items for everyone.
	anon := &profile.Profile{Subscribed: true}
	if got := Score(anon, b.item("x", func(it *content.Item) { it.Groups = []string{"farmer"} }), b.now, b.loc); got != Excluded {
		t.Errorf("Score(no group, farmer item) = %v, want Excluded", got)
	}
	if got := Score(nil, b.item("x", nil), b.now, b.loc); got == Excluded {
		t.Errorf("Score(nil profile, item for everyone) = Excluded, want a score")
	}
}

// naivePick is the baseline: Score every item, no precomputation.
func naivePick(p *profile.Profile, items []*content.Item, received func(string) bool,
	optOut func(string) bool, now time.Time, loc *time.Location) (*content.Item, float64, bool) {
	var best *content.Item
	bestScore := Excluded
	for _, it := range items {
		s := Score(p, it, now, loc)
		if s == Excluded || s < bestScore || (s == bestScore && it.ID >= best.ID) {
			continue
		}
		if received != nil && received(it.ID) {
			continue
		}
		if optOut != nil && slices.ContainsFunc(it.Topics, optOut) {
			continue
		}
		best, bestScore = it, s
	}
	if best == nil {
		return nil, 0, false
	}
	return best, bestScore, true
}

// TestPickerMatchesNaive checks the Picker against Score on every item for
// random items and profiles, ties and exclusions included.
func TestPickerMatchesNaive(t *testing.T) {
	t.Parallel()
	b := setupPick(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		items := syntheticItems(rng, 20+rng.IntN(200), b.now)
		pk := NewPicker(items, b.loc, b.now)
		for range 200 {
			p := syntheticProfile(rng)
			recv := map[string]bool{}
			for range rng.IntN(20) {
				recv[items[rng.IntN(len(items))].ID] = true
			}
			out := syntheticTopics[rng.IntN(len(syntheticTopics))]
			received := func(id string) bool { return recv[id] }
			optOut := func(topic string) bool { return topic == out }
			got, gs, gok := pk.Pick(p, received, optOut)
			want, ws, wok := naivePick(p, items, received, optOut, b.now, b.loc)
			if got != want || gs != ws || gok != wok {
				t.Fatalf("round %d: Picker.Pick(%+v) = %v (%v), naive = %v (%v)", round, p, id(got), gs, id(want), ws)
			}
		}
	}
}

func id(it *content.Item) string {
	if it == nil {
		return "<nil>"
	}
	return it.ID
}

func TestPickerAllocs(t *testing.T) {
	b := setupPick(t)
	rng := rand.New(rand.NewPCG(3, 4))
	items := syntheticItems(rng, 200, b.now)
	pk := NewPicker(items, b.loc, b.now)
	p := syntheticProfile(rng)
	recv := items[0].ID
	allocs := testing.AllocsPerRun(100, func() {
		pk.Pick(p, func(id string) bool { return id == recv }, func(string) bool { return false })
	})
	if allocs != 0 {
		t.Errorf("Picker.Pick allocates %v times per call, want 0", allocs)
	}
}

func TestPickerNilInputs(t *testing.T) {
	t.Parallel()
	b := setupPick(t)
	items := []*content.Item{
		b.item("farmers", func(it *content.Item) { it.Groups = []string{"farmer"}; it.Priority = 100 }),
		b.item("everyone", nil),
	}
	pk := NewPicker(items, b.loc, b.now)
	if got := pk.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2", got)
	}
	tests := []struct {
		name string
		p    *profile.Profile
		want string
	}{
		{"nil profile gets items for everyone", nil, "everyone"},
		{"no group gets items for everyone", &profile.Profile{Subscribed: true}, "everyone"},
		{"farmer gets the farmers' item", &profile.Profile{Group: "farmer"}, "farmers"},
	}
	for _, tt := range tests {
		got, _, ok := pk.Pick(tt.p, nil, nil)
		if !ok || got.ID != tt.want {
			t.Errorf("%s: Pick(nil callbacks) = %s, %v, want %s", tt.name, id(got), ok, tt.want)
		}
	}
	if got, _, ok := NewPicker(nil, b.loc, b.now).Pick(litchiFarmer(), nil, nil); ok {
		t.Errorf("Pick with no items = %s, true, want false", id(got))
	}
}
