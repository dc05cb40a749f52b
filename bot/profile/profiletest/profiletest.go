// Package profiletest makes synthetic subscribers for tests and
// benchmarks: a district's realistic mix of groups, towns and interests.
package profiletest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// DistrictSize is the subscribers of a whole-district benchmark: 1.5 M, or
// 20,000 with -short (as CI's smoke run uses).
func DistrictSize() int {
	if testing.Short() {
		return 20_000
	}
	return 1_500_000
}

// The mix: many farmers and workers; 新塘 the biggest town.
var (
	Groups = []string{"farmer", "farmer", "farmer", "worker", "worker", "worker", "resident", "resident", "youth", "official"}
	Towns  = []string{"licheng", "zengjiang", "zhucun", "yongning", "lihu", "ningxi", "xintang", "xintang", "xintang",
		"shitan", "zhongxin", "zhengguo", "paitan", "xiaolou", "xiancun"}
	Topics = []string{"agriculture", "litchi", "rice", "vegetables", "aquaculture", "livestock", "health", "mental_health",
		"safety", "disaster", "environment", "energy", "innovation", "technology", "food_safety", "weather", "stem", "anti_superstition"}
)

// OpenID is the i-th synthetic openid: 28 characters, like a real one.
func OpenID(i int) string { return fmt.Sprintf("oBench%022d", i) }

// Subscriber returns the i-th synthetic subscriber drawn from rng: 1–4
// interests, 5 % unsubscribed, 4 % opted out, 10 % from a training QR code.
func Subscriber(rng *rand.Rand, i int, now time.Time) *profile.Profile {
	p := &profile.Profile{
		OpenID:       OpenID(i),
		Group:        Groups[rng.IntN(len(Groups))],
		Town:         Towns[rng.IntN(len(Towns))],
		Subscribed:   rng.IntN(20) > 0,
		OptedOut:     rng.IntN(25) == 0,
		CreatedAt:    now.Add(-time.Duration(rng.IntN(365*24)) * time.Hour),
		LastActiveAt: now.Add(-time.Duration(rng.IntN(60*24)) * time.Hour),
	}
	for range 1 + rng.IntN(4) {
		p.SetInterest(Topics[rng.IntN(len(Topics))], uint8(100+rng.IntN(150)))
	}
	if rng.IntN(10) == 0 {
		p.Source = "training-2027"
	}
	p.LastMessageAt = p.LastActiveAt
	return p
}

// Populate imports n synthetic subscribers (seeded: the same n gives the
// same district) in batches of 2,000 and returns nothing; use Subscriber
// with the same seed to know who they are.
func Populate(tb testing.TB, ctx context.Context, s *profile.Store, account string, n int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	now := time.Now()
	const batch = 2000
	ps := make([]*profile.Profile, 0, batch)
	for start := 0; start < n; start += batch {
		ps = ps[:0]
		for i := start; i < min(start+batch, n); i++ {
			ps = append(ps, Subscriber(rng, i, now))
		}
		if _, err := s.Import(ctx, account, ps); err != nil {
			tb.Fatal(err)
		}
	}
}
