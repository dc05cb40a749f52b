package upkeep

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

type countEraser struct{ n int }

func (c *countEraser) Erase(context.Context, string, string) error { c.n++; return nil }

func TestRollupAndRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Start(t)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	store, err := profile.NewStore(ctx, rdb, loc)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 6, 1, 3, 0, 0, 0, loc)
	var ps []*profile.Profile
	for i := range 30 {
		p := &profile.Profile{OpenID: fmt.Sprintf("oR%02d", i), Group: "farmer", Town: "paitan", Subscribed: true,
			CreatedAt: now.AddDate(-2, 0, 0), LastActiveAt: now.AddDate(0, 0, -i)}
		switch {
		case i < 5: // left two years ago: erased
			p.Subscribed, p.OptChangedAt = false, now.AddDate(-2, 0, 0)
		case i < 10: // left last month: kept
			p.Subscribed, p.OptChangedAt = false, now.AddDate(0, -1, 0)
		}
		ps = append(ps, p)
	}
	if _, err := store.Import(ctx, "default", ps); err != nil {
		t.Fatal(err)
	}
	s, err := Rollup(ctx, rdb, store, "default", []string{"paitan", "xintang"}, []string{"farmer"}, now, loc)
	if err != nil {
		t.Fatal(err)
	}
	if s.Profiles != 30 || s.Reachable != 20 || s.TownGroups["paitan"]["farmer"] != 20 || s.TownGroups["xintang"]["farmer"] != 0 {
		t.Errorf("snapshot = %+v", s)
	}
	if s.Active30d == 0 || s.Active30d > 20 {
		t.Errorf("active 30d = %d", s.Active30d)
	}
	ce := &countEraser{}
	n, err := Retention(ctx, store, []Eraser{ce}, "default", 365*24*time.Hour, now)
	if err != nil || n != 5 || ce.n != 5 {
		t.Fatalf("Retention = %d, %v (erasers called %d); want 5", n, err, ce.n)
	}
	for i := range 10 {
		_, _, err := store.Get(ctx, "default", fmt.Sprintf("oR%02d", i))
		if gone := err == profile.ErrNotFound; gone != (i < 5) {
			t.Errorf("oR%02d: erased=%v", i, gone)
		}
	}
	if n, _ := Retention(ctx, store, nil, "default", 365*24*time.Hour, now); n != 0 {
		t.Errorf("second run erased %d", n)
	}
}
