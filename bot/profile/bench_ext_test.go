package profile_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"

	"github.com/zengcheng-kexie/kepubot/bot/profile/profiletest"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

func benchSubscribers() int { return profiletest.DistrictSize() }

var benchTowns = profiletest.Towns

func synthetic(rng *rand.Rand, i int, now time.Time) *profile.Profile {
	return profiletest.Subscriber(rng, i, now)
}

func populate(tb testing.TB, ctx context.Context, s *profile.Store, account string, n int) {
	profiletest.Populate(tb, ctx, s, account, n)
}

// populateNaive writes the same subscribers as one Redis hash each (the
// layout a first attempt would use), for comparison.
func populateNaive(tb testing.TB, ctx context.Context, rdb redis.UniversalClient, n int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	now := time.Now()
	const batch = 2000
	for start := 0; start < n; start += batch {
		_, err := rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i := start; i < min(start+batch, n); i++ {
				p := synthetic(rng, i, now)
				pipe.HSet(ctx, "sub:"+p.OpenID,
					"group", p.Group, "town", p.Town, "interests", strings.Join(p.InterestIDs(), ","),
					"subscribed", p.Subscribed, "opted_out", p.OptedOut, "source", p.Source,
					"created_at", p.CreatedAt.Unix(), "last_active_at", p.LastActiveAt.Unix(),
					"last_msg_at", p.LastMessageAt.Unix(), "msgs_used", 0)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

func usedMemory(tb testing.TB, ctx context.Context, rdb redis.UniversalClient) int64 {
	tb.Helper()
	rdb.Do(ctx, "MEMORY", "PURGE")
	n, err := redistest.UsedMemory(ctx, rdb)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkMemoryPerSubscriber reports Redis bytes per subscriber for the
// packed layout (profile + openid map + every segment bitmap) beside a
// naive hash-per-subscriber layout, each on its own fresh server.
func BenchmarkMemoryPerSubscriber(b *testing.B) {
	ctx := context.Background()
	n := benchSubscribers()
	var packed, naive float64
	for b.Loop() {
		rdb := redistest.Start(b)
		s, err := profile.NewStore(ctx, rdb, time.UTC)
		if err != nil {
			b.Fatal(err)
		}
		before := usedMemory(b, ctx, rdb)
		populate(b, ctx, s, "default", n)
		packed = float64(usedMemory(b, ctx, rdb)-before) / float64(n)

		rdb2 := redistest.Start(b)
		before = usedMemory(b, ctx, rdb2)
		populateNaive(b, ctx, rdb2, n)
		naive = float64(usedMemory(b, ctx, rdb2)-before) / float64(n)
	}
	b.ReportMetric(packed, "bytes/subscriber")
	b.ReportMetric(naive, "naive-bytes/subscriber")
	b.ReportMetric(naive/packed, "naive/packed")
}

// BenchmarkAudience counts segments over the synthetic district.
func BenchmarkAudience(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b)
	s, err := profile.NewStore(ctx, rdb, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	populate(b, ctx, s, "default", benchSubscribers())
	seg := profile.And(profile.Term(profile.GroupIndex("farmer")), profile.Term(profile.TownIndex("paitan")), profile.Term(profile.InterestIndex("litchi")), profile.Reachable())
	var towns, groups []string
	for _, t := range benchTowns[:13] {
		towns = append(towns, profile.TownIndex(t))
	}
	for _, g := range []string{"farmer", "worker", "resident", "youth", "official"} {
		groups = append(groups, profile.GroupIndex(g))
	}
	b.Run("group&town&interest", func(b *testing.B) {
		var c profile.Counts
		for b.Loop() {
			if c, err = s.Count(ctx, "default", seg, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(c.Total), "audience")
	})
	b.Run("by-town-x-group", func(b *testing.B) {
		for b.Loop() {
			if _, err = s.Count(ctx, "default", profile.Reachable(), towns, groups); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Baseline: the same audience by reading every profile.
	b.Run("scan-baseline", func(b *testing.B) {
		if !testing.Short() {
			b.Skip("a full scan takes seconds a run; measured with -short or by BenchmarkAudienceScan")
		}
		for b.Loop() {
			if _, err := scanCount(ctx, s, "default"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// scanCount counts farmer ∧ paitan ∧ litchi ∧ reachable by reading every
// profile: what a store without indexes would have to do.
func scanCount(ctx context.Context, s *profile.Store, account string) (int, error) {
	n := 0
	for shard := range profile.Shards {
		max, err := s.MaxLocal(ctx, account, shard)
		if err != nil {
			return 0, err
		}
		for from := int64(0); from <= max; from += 1024 {
			lids := make([]int64, 0, 1024)
			for l := from; l < from+1024 && l <= max; l++ {
				lids = append(lids, l)
			}
			ms, err := s.Members(ctx, account, shard, lids)
			if err != nil {
				return 0, err
			}
			for _, m := range ms {
				p := m.Profile
				if p.Group == "farmer" && p.Town == "paitan" && p.HasInterest("litchi") && p.Reachable() {
					n++
				}
			}
		}
	}
	return n, nil
}
