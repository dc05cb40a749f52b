package segment

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/profile/profiletest"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// BenchmarkAudience sizes a three-term segment over the synthetic district
// the way a campaign preview does (Parse, Compile, Count inside Redis),
// and in the same run measures the alternative: reading every profile
// and testing the predicate in Go.
//
// The scan baseline reads a sample of up to 20,000 profiles with
// Store.Get (one round trip each, as any code outside the profile package
// has to) and extrapolates the cost per profile to the whole district:
// reading all 1.5 M would take about a minute a run. Metrics:
//
//	ms/op         one segment count (Parse + Compile + Count), milliseconds
//	preview-ms    the same segment with the by-town, by-group and town ×
//	              group breakdown (the admin preview with cross)
//	scan-ms       the extrapolated scan of every profile
//	scan/segment  how many times faster the segment is than the scan
//	audience      the segment's size (a sanity check, reachable only)
func BenchmarkAudience(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b)
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	store, err := profile.NewStore(ctx, rdb, loc)
	if err != nil {
		b.Fatal(err)
	}
	tax := testTaxonomy(b)
	now := time.Now()
	n := profiletest.DistrictSize()

	rng := rand.New(rand.NewPCG(7, 7))
	const batch = 2000
	ps := make([]*profile.Profile, 0, batch)
	for start := 0; start < n; start += batch {
		ps = ps[:0]
		for i := start; i < min(start+batch, n); i++ {
			ps = append(ps, profiletest.Subscriber(rng, i, now))
		}
		if _, err := store.Import(ctx, "default", ps); err != nil {
			b.Fatal(err)
		}
	}

	const expr = "group:farmer & town:paitan & interest:litchi"
	var audience int64
	runs := 0
	for b.Loop() {
		e, err := Parse(expr, tax)
		if err != nil {
			b.Fatal(err)
		}
		c, err := store.Count(ctx, "default", Audience(e.Compile(now, loc)), nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		audience = c.Total
		runs++
	}
	segment := b.Elapsed() / time.Duration(runs)

	// The preview with every breakdown, timed outside b.Loop.
	e, _ := Parse(expr, tax)
	const previews = 20
	start := time.Now()
	for range previews {
		p, err := Preview(ctx, store, "default", e.Compile(now, loc), tax, true)
		if err != nil {
			b.Fatal(err)
		}
		if p.Count != audience {
			b.Fatalf("preview count %d, segment count %d", p.Count, audience)
		}
	}
	preview := time.Since(start) / previews

	// The scan baseline over an evenly spread sample.
	sample := min(n, 20_000)
	matched := 0
	start = time.Now()
	for k := range sample {
		p, _, err := store.Get(ctx, "default", profiletest.OpenID(k*n/sample))
		if err != nil {
			b.Fatal(err)
		}
		if p.Group == "farmer" && p.Town == "paitan" && p.HasInterest("litchi") && p.Reachable() {
			matched++
		}
	}
	scan := time.Since(start) / time.Duration(sample) * time.Duration(n)
	if sample == n && int64(matched) != audience {
		b.Fatalf("scan found %d, segment %d", matched, audience)
	}

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(segment), "ms/op")
	b.ReportMetric(ms(preview), "preview-ms")
	b.ReportMetric(ms(scan), "scan-ms")
	b.ReportMetric(float64(scan)/float64(segment), "scan/segment")
	b.ReportMetric(float64(audience), "audience")
}
