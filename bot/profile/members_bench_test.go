package profile_test

import (
	"context"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
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
	fillShardZero(b, s, shardZero(n))
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
