package profile

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// benchSubscribers is the district: 1.5 M subscribers (20,000 with -short,
// as CI's smoke run uses).
func benchSubscribers() int {
	if testing.Short() {
		return 20_000
	}
	return 1_500_000
}

var (
	benchGroups = []string{"farmer", "farmer", "farmer", "worker", "worker", "worker", "resident", "resident", "youth", "official"}
	benchTowns  = []string{"licheng", "zengjiang", "zhucun", "yongning", "lihu", "ningxi", "xintang", "xintang", "xintang",
		"shitan", "zhongxin", "zhengguo", "paitan", "xiaolou", "xiancun"}
	benchTopics = []string{"agriculture", "litchi", "rice", "vegetables", "aquaculture", "livestock", "health", "mental_health",
		"safety", "disaster", "environment", "energy", "innovation", "technology", "food_safety", "weather", "stem", "anti_superstition"}
)

// synthetic returns the i-th synthetic subscriber: a realistic mix of
// groups, towns and 1–4 interests.
func synthetic(rng *rand.Rand, i int, now time.Time) *Profile {
	p := &Profile{
		OpenID:       fmt.Sprintf("oBench%022d", i), // 28 characters, like a real openid
		Group:        benchGroups[rng.IntN(len(benchGroups))],
		Town:         benchTowns[rng.IntN(len(benchTowns))],
		Subscribed:   rng.IntN(20) > 0,
		OptedOut:     rng.IntN(25) == 0,
		CreatedAt:    now.Add(-time.Duration(rng.IntN(365*24)) * time.Hour),
		LastActiveAt: now.Add(-time.Duration(rng.IntN(60*24)) * time.Hour),
	}
	for range 1 + rng.IntN(4) {
		p.SetInterest(benchTopics[rng.IntN(len(benchTopics))], uint8(100+rng.IntN(150)))
	}
	if rng.IntN(10) == 0 {
		p.Source = "training-2027"
	}
	p.LastMessageAt = p.LastActiveAt
	return p
}

// populate writes n synthetic subscribers through Store.Import.
func populate(tb testing.TB, ctx context.Context, s *Store, account string, n int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	now := time.Now()
	const batch = 2000
	ps := make([]*Profile, 0, batch)
	for start := 0; start < n; start += batch {
		ps = ps[:0]
		for i := start; i < min(start+batch, n); i++ {
			ps = append(ps, synthetic(rng, i, now))
		}
		if _, err := s.Import(ctx, account, ps); err != nil {
			tb.Fatal(err)
		}
	}
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
		s, err := NewStore(ctx, rdb, time.UTC)
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
	s, err := NewStore(ctx, rdb, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	populate(b, ctx, s, "default", benchSubscribers())
	seg := And(Term(GroupIndex("farmer")), Term(TownIndex("paitan")), Term(InterestIndex("litchi")), Reachable())
	var towns, groups []string
	for _, t := range benchTowns[:13] {
		towns = append(towns, TownIndex(t))
	}
	for _, g := range []string{"farmer", "worker", "resident", "youth", "official"} {
		groups = append(groups, GroupIndex(g))
	}
	b.Run("group&town&interest", func(b *testing.B) {
		var c Counts
		for b.Loop() {
			if c, err = s.Count(ctx, "default", seg, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(c.Total), "audience")
	})
	b.Run("by-town-x-group", func(b *testing.B) {
		for b.Loop() {
			if _, err = s.Count(ctx, "default", Reachable(), towns, groups); err != nil {
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

// scanCount counts farmer ∧ paitan ∧ litchi ∧ reachable by decoding every
// profile: what a store without indexes would have to do.
func scanCount(ctx context.Context, s *Store, account string) (int, error) {
	n := 0
	for shard := range Shards {
		tag := shardTag(account, shard)
		for bucket := range openidBuckets {
			m, err := s.rdb.HGetAll(ctx, tag+":o:"+strconv.Itoa(bucket)).Result()
			if err != nil {
				return 0, err
			}
			for _, v := range m {
				p, _, err := decode([]byte(v), s.dict)
				if err != nil {
					return 0, err
				}
				if p.Group == "farmer" && p.Town == "paitan" && p.HasInterest("litchi") && p.Reachable() {
					n++
				}
			}
		}
	}
	return n, nil
}

// BenchmarkBeginCommit is the Redis cost of one webhook message: a begin
// and a commit that touches the profile (two round trips).
func BenchmarkBeginCommit(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b)
	s, err := NewStore(ctx, rdb, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := range 100 {
		s.Update(ctx, "default", fmt.Sprintf("o%05d", i), func(*Profile) (*Profile, error) { return farmer("x", now), nil })
	}
	i := 0
	for b.Loop() {
		i++
		sess, err := s.Begin(ctx, "default", fmt.Sprintf("o%05d", i%100), "m:"+strconv.Itoa(i), time.Second)
		if err != nil {
			b.Fatal(err)
		}
		p := sess.Profile.Clone()
		p.TouchMessage(now)
		if err := s.Commit(ctx, sess, Outcome{Profile: p, Reply: []byte(`{"text":"hello"}`), ReplyTTL: time.Minute, KeepDialog: true}); err != nil {
			b.Fatal(err)
		}
	}
}
