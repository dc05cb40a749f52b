package profile_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/profile/profiletest"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// BenchmarkOpenIDBuckets fills one shard with the subscribers a shard
// holds at 18.7 M an account (18.7 M / 32; KEPUBOT_BENCH_SHARD sets
// another number) for several split loads, the mean entries per openid
// bucket at which the next bucket splits, each on a fresh server, and
// reports Redis bytes per subscriber (profile, openid and reverse maps,
// every bitmap) and the time of a Begin (the profile's HGET in a MULTI).
// "fixed1024" never splits: the layout before linear hashing.
func BenchmarkOpenIDBuckets(b *testing.B) {
	n := 18_700_000 / profile.Shards
	if testing.Short() {
		n = 20_000
	}
	if v, err := strconv.Atoi(os.Getenv("KEPUBOT_BENCH_SHARD")); err == nil {
		n = v
	}
	for _, load := range []int{1 << 30, 25, 50, 100, 200} {
		name := "load" + strconv.Itoa(load)
		if load == 1<<30 {
			name = "fixed1024"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			rdb := redistest.Start(b)
			s, err := profile.NewStore(ctx, rdb, time.UTC)
			if err != nil {
				b.Fatal(err)
			}
			profile.SetSplitLoad(s, load)
			before := usedMemory(b, ctx, rdb)
			openIDs := shardZero(n)
			fillShardZero(b, s, openIDs)
			bytes := float64(usedMemory(b, ctx, rdb)-before) / float64(n)
			i := 0
			for b.Loop() {
				if _, _, err := s.Get(ctx, "default", openIDs[(i*7919)%n]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(bytes, "bytes/subscriber")
			b.Logf("%d subscribers in shard 0, bucket state %q", n, profile.OpenIDBucketState(s, "default", 0))
		})
	}
}

// fillShardZero imports synthetic subscribers (profiletest.Subscriber)
// under openIDs, in batches of 2,000.
func fillShardZero(b *testing.B, s *profile.Store, openIDs []string) {
	b.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	now := time.Now()
	ps := make([]*profile.Profile, 0, 2000)
	for start := 0; start < len(openIDs); start += 2000 {
		ps = ps[:0]
		for i := start; i < min(start+2000, len(openIDs)); i++ {
			p := profiletest.Subscriber(rng, i, now)
			p.OpenID = openIDs[i]
			ps = append(ps, p)
		}
		if _, err := s.Import(context.Background(), "default", ps); err != nil {
			b.Fatal(err)
		}
	}
}

// shardZero returns n openids of shard 0 (28 characters, like real ones).
func shardZero(n int) []string {
	out := make([]string, 0, n)
	for i := 0; len(out) < n; i++ {
		if o := fmt.Sprintf("oShard%022d", i); profile.ShardOf(o) == 0 {
			out = append(out, o)
		}
	}
	return out
}
