package search

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/content"
)

var benchQueries = []Query{
	{Text: "荔枝", Group: "farmer", Town: "paitan"},
	{Text: "荔枝 施肥", Group: "farmer", Interests: map[string]int{"litchi": 5}},
	{Text: "台风来了怎么办", Group: "resident"},
	{Text: "防诈骗", Group: "resident", Town: "licheng"},
	{Text: "中暑", Group: "worker"},
	{Text: "电动车充电安全", Group: "worker", Town: "xintang"},
	{Text: "非洲猪瘟"},
	{Text: "鱼塘浮头", Group: "farmer"},
	{Text: "丝苗米种植"},
	{Text: "区块链元宇宙"}, // matches nothing
}

// syntheticItems makes n items by recombining the samples: each gets a
// sample's title and body, another's summary and a random audience, so
// word frequencies stay realistic while the index grows.
func syntheticItems(tb testing.TB, n int) []content.Item {
	tb.Helper()
	base := sampleItems(tb)
	groups := []string{"youth", "farmer", "worker", "official", "resident"}
	towns := []string{"licheng", "zengjiang", "zhucun", "yongning", "lihu", "ningxi", "xintang", "shitan", "zhongxin", "zhengguo", "paitan", "xiaolou", "xiancun"}
	rng := rand.New(rand.NewPCG(1, 2))
	items := make([]content.Item, n)
	for i := range items {
		a, b := base[rng.IntN(len(base))], base[rng.IntN(len(base))]
		it := a
		it.ID = fmt.Sprintf("syn-%05d", i)
		it.ExternalID = it.ID
		it.Title = fmt.Sprintf("%s（%d）", a.Title, i)
		it.Summary = b.Summary
		it.Body = a.Body + "\n\n" + b.Short
		it.Groups = []string{groups[rng.IntN(len(groups))]}
		it.Towns = nil
		if rng.IntN(4) == 0 {
			it.Towns = []string{towns[rng.IntN(len(towns))]}
		}
		it.Topics = slices.Clone(a.Topics)
		if rng.IntN(3) == 0 {
			it.Topics = append(it.Topics, b.Topics[0])
		}
		it.Priority = rng.IntN(101)
		items[i] = it
	}
	return items
}

// BenchmarkSearch measures one chat search over 10,000 items and reports
// the p50 and p99 latency of single queries besides the mean.
func BenchmarkSearch(b *testing.B) {
	fx := setup(b)
	items := syntheticItems(b, 10_000)
	start := time.Now()
	ix := NewIndex(fx.seg, items, fx.topicWords)
	build := time.Since(start)

	var lat []time.Duration
	i := 0
	for b.Loop() {
		q := benchQueries[i%len(benchQueries)]
		i++
		t0 := time.Now()
		ix.Search(q, 3)
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(build.Milliseconds()), "build-ms")
}
