package profile_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/profile/profiletest"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// BenchmarkMembers loads a delivery chunk (1,024 local ids) of one shard
// holding the subscribers a shard holds at 1.5 M an account (-short:
// 20,000), as the campaign engine does for every chunk it decides: the
// reverse map, then the profiles. ns/op is per chunk; ns/member per
// subscriber loaded.
func BenchmarkMembers(b *testing.B) {
	n := 1_500_000 / profile.Shards
	if testing.Short() {
		n = 20_000
	}
	ctx := context.Background()
	rdb := redistest.Start(b)
	s, err := profile.NewStore(ctx, rdb, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	openIDs := shardZero(n)
	rng := rand.New(rand.NewPCG(7, 9))
	now := time.Now()
	ps := make([]*profile.Profile, 0, 2000)
	for start := 0; start < n; start += 2000 {
		ps = ps[:0]
		for i := start; i < min(start+2000, n); i++ {
			p := profiletest.Subscriber(rng, i, now)
			p.OpenID = openIDs[i]
			ps = append(ps, p)
		}
		if _, err := s.Import(ctx, "default", ps); err != nil {
			b.Fatal(err)
		}
	}
	top, err := s.MaxLocal(ctx, "default", 0)
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 1024
	lids := make([]int64, chunk)
	from := int64(0)
	loaded := 0
	for b.Loop() {
		for i := range lids {
			lids[i] = from + int64(i)
		}
		ms, err := s.Members(ctx, "default", 0, lids)
		if err != nil {
			b.Fatal(err)
		}
		loaded += len(ms)
		if from += chunk; from+chunk > top {
			from = 0
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(loaded, 1)), "ns/member")
}
