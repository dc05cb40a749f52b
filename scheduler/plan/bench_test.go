package plan

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
)

var (
	syntheticGroups = []string{"youth", "farmer", "worker", "official", "resident"}
	syntheticTowns  = []string{
		"licheng", "zengjiang", "zhucun", "yongning", "lihu", "ningxi",
		"xintang", "shitan", "zhongxin", "zhengguo", "paitan", "xiaolou", "xiancun",
	}
	syntheticTopics = []string{
		"agriculture", "litchi", "rice", "vegetables", "aquaculture", "livestock",
		"health", "mental_health", "safety", "disaster", "environment", "energy",
		"innovation", "technology", "food_safety", "weather", "stem", "anti_superstition",
	}
)

func pickN[T any](rng *rand.Rand, from []T, n int) []T {
	out := make([]T, 0, n)
	for _, i := range rng.Perm(len(from))[:n] {
		out = append(out, from[i])
	}
	return out
}

// syntheticItems returns n items shaped like the library: mostly published
// and valid, a quarter for some groups, some for some towns, a third
// seasonal, and some identical but for their id (ties).
func syntheticItems(rng *rand.Rand, n int, now time.Time) []*content.Item {
	items := make([]*content.Item, 0, n)
	for i := range n {
		if i > 0 && rng.IntN(10) == 0 {
			c := *items[len(items)-1]
			c.ID = fmt.Sprintf("item-%04d", rng.IntN(10000))
			items = append(items, &c)
			continue
		}
		created := now.Add(-time.Duration(rng.IntN(180*24)) * time.Hour)
		it := &content.Item{
			ID:         fmt.Sprintf("item-%04d", rng.IntN(10000)),
			Status:     content.StatusPublished,
			Priority:   10 * rng.IntN(11),
			CreatedAt:  created,
			ValidFrom:  created,
			ValidUntil: now.AddDate(0, 0, 1+rng.IntN(60)),
		}
		it.Topics = pickN(rng, syntheticTopics, 1+rng.IntN(3))
		if rng.IntN(4) == 0 {
			it.Groups = pickN(rng, syntheticGroups, 1+rng.IntN(2))
		}
		if rng.IntN(7) == 0 {
			it.Towns = pickN(rng, syntheticTowns, 1+rng.IntN(3))
		}
		switch rng.IntN(6) {
		case 0:
			m := 1 + rng.IntN(12)
			it.Season.Months = []int{m, m%12 + 1}
		case 1:
			it.Season.SolarTerms = []string{solarTerms[rng.IntN(24)].name}
		}
		switch rng.IntN(30) {
		case 0:
			it.ValidUntil = now.Add(-time.Hour)
		case 1:
			it.Status = content.StatusRetired
		}
		items = append(items, it)
	}
	return items
}

// syntheticProfile returns a subscriber with a group, usually a town, 0–5
// interests, and windows and mass budget in various states.
func syntheticProfile(rng *rand.Rand) *profile.Profile {
	p := &profile.Profile{
		OpenID:     fmt.Sprintf("o%08x", rng.Uint32()),
		Group:      syntheticGroups[rng.IntN(len(syntheticGroups))],
		Subscribed: rng.IntN(50) != 0,
		OptedOut:   rng.IntN(100) == 0,
	}
	if rng.IntN(10) != 0 {
		p.Town = syntheticTowns[rng.IntN(len(syntheticTowns))]
	}
	for _, topic := range pickN(rng, syntheticTopics, rng.IntN(6)) {
		w := uint8(profile.WeightChosen)
		if rng.IntN(2) == 0 {
			w = uint8(1 + rng.IntN(255))
		}
		p.SetInterest(topic, w)
	}
	return p
}

// withWindows gives p the WeChat state a district's subscribers have at now.
func withWindows(rng *rand.Rand, p *profile.Profile, now time.Time, loc *time.Location) {
	if rng.IntN(10) == 0 {
		p.LastMessageAt = now.Add(-time.Duration(rng.IntN(72)) * time.Hour)
		p.MessagesUsed = uint8(rng.IntN(6))
	}
	if rng.IntN(100) == 0 {
		p.LastEventAt = now.Add(-time.Duration(rng.IntN(90)) * time.Second)
	}
	p.MassMonth = MonthNumber(now, loc) - uint16(rng.IntN(2))
	p.MassCount = uint8(rng.IntN(5))
}

func BenchmarkPick(b *testing.B) {
	pb := setupPick(b)
	rng := rand.New(rand.NewPCG(5, 6))
	items := syntheticItems(rng, 200, pb.now)
	pk := NewPicker(items, pb.loc, pb.now)
	profiles := make([]*profile.Profile, 1024)
	for i := range profiles {
		profiles[i] = syntheticProfile(rng)
	}
	recv := items[3].ID
	received := func(id string) bool { return id == recv }
	optOut := func(topic string) bool { return topic == "anti_superstition" }
	b.Run("picker", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			pk.Pick(profiles[i%len(profiles)], received, optOut)
			i++
		}
	})
	b.Run("naive", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			naivePick(profiles[i%len(profiles)], items, received, optOut, pb.now, pb.loc)
			i++
		}
	})
	// As the campaign engine picks: with the items' popularity among each
	// group (here a quarter of the items clicked in every group).
	pop := Popularity{}
	for _, g := range []string{"farmer", "youth", "worker", "official", "resident", ""} {
		pop[g] = map[string]float64{}
		for _, it := range pickN(rng, items, 50) {
			pop[g][it.ID] = rng.Float64()
		}
	}
	ppk := NewPopularPicker(items, pb.loc, pb.now, pop)
	b.Run("popular", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			ppk.Pick(profiles[i%len(profiles)], received, optOut)
			i++
		}
	})
}

// BenchmarkPlanDistrict plans a whole-district personalized campaign: for
// each of 1.5 M subscribers (20,000 with -short) the channel and the best
// of 200 items, on every CPU. In the same run it plans a sample with the
// naive picker (Score on every item) and reports both rates and their
// ratio. The profiles cycle through a pool of 65,536 distinct ones, as the
// engine works through the district a chunk of profiles at a time.
func BenchmarkPlanDistrict(b *testing.B) {
	pb := setupPick(b)
	subscribers, naiveSample := 1_500_000, 20_000
	if testing.Short() {
		subscribers, naiveSample = 20_000, 2_000
	}
	rng := rand.New(rand.NewPCG(7, 8))
	items := syntheticItems(rng, 200, pb.now)
	pool := make([]*profile.Profile, 1<<16)
	recv := make([][2]string, len(pool))
	for i := range pool {
		pool[i] = syntheticProfile(rng)
		withWindows(rng, pool[i], pb.now, pb.loc)
		recv[i] = [2]string{items[rng.IntN(len(items))].ID, items[rng.IntN(len(items))].ID}
	}
	rules := Rules{AccountType: ServiceAccount, TemplateConfigured: true, Loc: pb.loc}
	workers := runtime.GOMAXPROCS(0)

	// plan runs n subscribers over the workers; pick picks for one.
	type pickFunc func(p *profile.Profile, received func(string) bool) bool
	plan := func(n int, pick pickFunc) (planned int, d time.Duration) {
		start := time.Now()
		var wg sync.WaitGroup
		counts := make([]int, workers)
		for w := range workers {
			wg.Go(func() {
				for i := w; i < n; i += workers {
					p, r := pool[i&(len(pool)-1)], &recv[i&(len(pool)-1)]
					if !Choose(p, KindContent, rules, Options{}, pb.now).Reachable() {
						continue
					}
					if pick(p, func(id string) bool { return id == r[0] || id == r[1] }) {
						counts[w]++
					}
				}
			})
		}
		wg.Wait()
		for _, c := range counts {
			planned += c
		}
		return planned, time.Since(start)
	}

	var fast, naive time.Duration
	var planned int
	for b.Loop() {
		pk := NewPicker(items, pb.loc, pb.now) // once per campaign: counted
		n, d := plan(subscribers, func(p *profile.Profile, received func(string) bool) bool {
			_, _, ok := pk.Pick(p, received, nil)
			return ok
		})
		fast += d
		planned = n
		_, d = plan(naiveSample, func(p *profile.Profile, received func(string) bool) bool {
			_, _, ok := naivePick(p, items, received, nil, pb.now, pb.loc)
			return ok
		})
		naive += d
	}
	fastRate := float64(subscribers) * float64(b.N) / fast.Seconds()
	naiveRate := float64(naiveSample) * float64(b.N) / naive.Seconds()
	b.ReportMetric(fastRate, "subscribers/s")
	b.ReportMetric(naiveRate, "naive-subscribers/s")
	b.ReportMetric(fastRate/naiveRate, "speedup")
	b.ReportMetric(fast.Seconds()/float64(b.N), "district-s")
	b.ReportMetric(float64(planned)/float64(subscribers), "planned-share")
}
