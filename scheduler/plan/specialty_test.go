package plan

import (
	"slices"
	"testing"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
)

// farmerWith is a farmer in paitan interested in topics.
func farmerWith(topics ...string) *profile.Profile {
	p := &profile.Profile{OpenID: "o1", Group: "farmer", Town: "paitan", Subscribed: true}
	for _, t := range topics {
		p.SetInterest(t, profile.WeightChosen)
	}
	return p
}

// A fish farmer and a pig farmer in the demo got litchi tips: a tip on
// one farming specialty goes only to farmers of it, or to farmers who
// named no specialty.
func TestPickKeepsToTheFarmersSpecialty(t *testing.T) {
	t.Parallel()
	b := setupPick(t)
	farm := func(id string, prio int, topics ...string) *content.Item {
		return b.item(id, func(it *content.Item) {
			it.Groups, it.Topics, it.Priority = []string{"farmer"}, topics, prio
			it.Season.Months = []int{5}
		})
	}
	litchi := farm("litchi-tip", 100, "litchi", "agriculture")
	litchiRain := farm("litchi-rain", 100, "weather", "agriculture", "litchi")
	fish := farm("fish-tip", 40, "aquaculture", "weather")
	pondCold := farm("pond-cold", 40, "weather", "agriculture", "aquaculture")
	pig := farm("pig-tip", 40, "livestock")
	storm := farm("storm", 20, "disaster", "weather")
	all := []*content.Item{litchi, litchiRain, fish, pondCold, pig, storm}

	tests := []struct {
		name     string
		p        *profile.Profile
		items    []*content.Item
		received []string
		want     string // "" = nothing
	}{
		{"fish farmer gets the fish tip", farmerWith("aquaculture"), all, nil, "fish-tip"},
		{"fish farmer: a mixed item with fish", farmerWith("aquaculture"), all, []string{"fish-tip"}, "pond-cold"},
		{"fish farmer who likes weather: then a general farmer item", farmerWith("aquaculture", "weather"), all, []string{"fish-tip", "pond-cold"}, "storm"},
		{"fish farmer: no fish left is nothing", farmerWith("aquaculture"), all, []string{"fish-tip", "pond-cold"}, ""},
		{"fish farmer: litchi only left is nothing", farmerWith("aquaculture"), []*content.Item{litchi, litchiRain}, nil, ""},
		{"pig farmer gets the pig tip", farmerWith("livestock"), all, nil, "pig-tip"},
		{"pig farmer who watches storms: then a general farmer item", farmerWith("livestock", "disaster"), all, []string{"pig-tip"}, "storm"},
		{"pig farmer: fish and litchi only left is nothing", farmerWith("livestock"), all, []string{"pig-tip", "storm"}, ""},
		{"pig farmer who likes weather: still no litchi", farmerWith("livestock", "weather"), all, []string{"pig-tip", "storm"}, ""},
		{"litchi farmer still gets litchi", farmerWith("litchi"), all, nil, "litchi-rain"},
		{"fish and litchi farmer gets both", farmerWith("aquaculture", "litchi"), all, []string{"litchi-rain", "litchi-tip"}, "fish-tip"},
		{"farmer who named no specialty may get any", farmerWith("weather"), all, nil, "litchi-rain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			received := func(id string) bool { return slices.Contains(tt.received, id) }
			got, score, ok := Pick(tt.p, tt.items, received, nil, b.now, b.loc)
			var gotID string
			if got != nil {
				gotID = got.ID
			}
			if gotID != tt.want || ok != (tt.want != "") {
				t.Errorf("Pick(%v) = %q (score %.2f), %v; want %q", tt.p.Interests, gotID, score, ok, tt.want)
			}
		})
	}
	for _, p := range []*profile.Profile{farmerWith("aquaculture"), farmerWith("livestock")} {
		if got := Score(p, litchi, b.now, b.loc); got != Excluded {
			t.Errorf("Score(%v, litchi tip) = %v, want Excluded", p.Interests, got)
		}
	}
}
