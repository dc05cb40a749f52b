package campaign_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// The split is a pure function of campaign and subscriber: the same
// every time, everyone in exactly one arm, about half held back, the
// variants about even; another campaign splits otherwise.
func TestVariantSplitIsDeterministic(t *testing.T) {
	t.Parallel()
	c := &campaign.Campaign{Account: "default", ID: "c7", Variants: make([]campaign.Variant, 3), WinnerAfter: campaign.Seconds(time.Hour)}
	other := &campaign.Campaign{Account: "default", ID: "c8", Variants: make([]campaign.Variant, 3), WinnerAfter: campaign.Seconds(time.Hour)}
	const n = 30000
	arms := map[int]int{}
	differ := 0
	for i := range n {
		id := profile.ID{Shard: i % 16, Local: int64(i / 16)}
		k := c.Assign(id)
		if again := c.Assign(id); again != k {
			t.Fatalf("Assign(%v) = %d, then %d", id, k, again)
		}
		if k < -1 || k >= 3 {
			t.Fatalf("Assign(%v) = %d, want -1..2", id, k)
		}
		arms[k]++
		if other.Assign(id) != k {
			differ++
		}
	}
	if got := arms[-1]; math.Abs(float64(got)/n-campaign.HoldoutShare) > 0.02 {
		t.Errorf("holdout %d of %d, want about %.0f %%", got, n, campaign.HoldoutShare*100)
	}
	for k := range 3 {
		if got, want := float64(arms[k]), n*(1-campaign.HoldoutShare)/3; math.Abs(got-want) > want*0.06 {
			t.Errorf("variant %d: %v members, want about %v", k, got, want)
		}
	}
	if differ < n/3 {
		t.Errorf("another campaign splits %d of %d differently, want about half or more", differ, n)
	}
	noHold := &campaign.Campaign{Account: "default", ID: "c7", Variants: make([]campaign.Variant, 2)}
	for i := range 1000 {
		if k := noHold.Assign(profile.ID{Local: int64(i)}); k < 0 {
			t.Fatalf("without winner_after, Assign = %d: nobody is held back", k)
		}
	}
}

func TestWilson(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		clicks, sent int64
		low, high    float64
	}{
		{0, 0, 0, 0},
		{0, 10, 0, 0.2775},
		{5, 10, 0.2366, 0.7634},
		{50, 1000, 0.0381, 0.0653},
		{10, 10, 0.7225, 1},
	} {
		low, high := campaign.Wilson(tc.clicks, tc.sent)
		if math.Abs(low-tc.low) > 1e-3 || math.Abs(high-tc.high) > 1e-3 {
			t.Errorf("Wilson(%d, %d) = %.4f, %.4f, want %.4f, %.4f", tc.clicks, tc.sent, low, high, tc.low, tc.high)
		}
	}
}

func TestVariantDraftValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, clock.Now)
	for _, tc := range []struct {
		name  string
		d     campaign.Draft
		field string
	}{
		{"one variant", campaign.Draft{Name: "x", ItemID: "it2", Variants: []campaign.Variant{{Title: "甲"}}}, "variants"},
		{"no item", campaign.Draft{Name: "x", Mode: campaign.ModePersonalized, Variants: []campaign.Variant{{Title: "甲"}, {Title: "乙"}}}, "variants"},
		{"unknown item", campaign.Draft{Name: "x", ItemID: "it2", Variants: []campaign.Variant{{Title: "甲"}, {ItemID: "nope"}}}, "variants"},
		{"both", campaign.Draft{Name: "x", ItemID: "it2", Variants: []campaign.Variant{{Title: "甲"}, {ItemID: "it1", Title: "乙"}}}, "variants"},
		{"no title", campaign.Draft{Name: "x", ItemID: "it2", Variants: []campaign.Variant{{Title: "甲"}, {Summary: "只有摘要"}}}, "variants"},
		{"winner without variants", campaign.Draft{Name: "x", ItemID: "it2", WinnerAfter: time.Hour}, "winner_after"},
	} {
		_, err := b.engine.Create(b.ctx, "default", tc.d)
		var inv *campaign.InvalidError
		if !errors.As(err, &inv) || inv.Fields[tc.field] == "" {
			t.Errorf("%s: Create = %v, want a Chinese error on %s", tc.name, err, tc.field)
		}
	}
	cs, err := b.store.List(b.ctx, "default", 10)
	if err != nil || len(cs) != 0 {
		t.Errorf("after refused drafts, %d campaigns stored (%v), want 0", len(cs), err)
	}
	var s campaign.Seconds
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{{`"2h"`, 2 * time.Hour}, {`7200`, 2 * time.Hour}, {`"90m"`, 90 * time.Minute}} {
		if err := json.Unmarshal([]byte(tc.in), &s); err != nil || time.Duration(s) != tc.want {
			t.Errorf("winner_after %s = %v, %v, want %v", tc.in, time.Duration(s), err, tc.want)
		}
	}
	if err := json.Unmarshal([]byte(`"两小时"`), &s); err == nil {
		t.Error(`winner_after "两小时" accepted`)
	}
}

// A variant campaign on the fake WeChat with a real Redis: the test phase
// reaches every arm but the holdout, each recipient with their variant's
// title; clicks count per variant with an interval; after winner_after
// the best variant goes to exactly the holdout, and nobody gets two.
func TestVariantWinnerReachesExactlyTheHoldout(t *testing.T) {
	t.Parallel()
	clk := &testClock{t: time.Date(2027, 4, 6, 10, 0, 0, 0, shanghai)}
	var links *campaign.Links
	b := setup(t, clk.Now, func(b *bundle, cfg *campaign.Config) {
		var err error
		if links, err = campaign.NewLinks(b.ctx, b.rdb, "https://kb.example.org"); err != nil {
			t.Fatal(err)
		}
		cfg.Links = links
	})
	ps := b.population(t, 400)
	b.openWindows(ps, 400)
	b.run(t, "w", 3)
	titles := []string{"台风来了：三件事要做", "台风来了怎么办"}
	c, err := b.engine.Create(b.ctx, "default", campaign.Draft{Name: "台风 A/B", ItemID: "it2", WinnerAfter: 2 * time.Hour,
		Variants: []campaign.Variant{{Title: titles[0], Summary: "加固门窗。"}, {ItemID: "it2"}}})
	if err != nil {
		t.Fatal(err)
	}
	// The plan counts the holdout as sent (the winner), not unreachable.
	rep, err := b.engine.Plan(b.ctx, c, 200)
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, line := range rep.Sample {
		if line.Reason == "ab_holdout" && line.Channel != "" {
			held++
		}
	}
	if rep.Unreachable["ab_holdout"] != 0 || held == 0 {
		t.Errorf("plan: %d holdout lines with a channel, unreachable %v; want the holdout estimated as sent", held, rep.Unreachable)
	}
	if _, err := b.engine.Change(b.ctx, "default", c.ID, campaign.ActStart); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		cur, err := b.store.Get(b.ctx, "default", c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Waiting != nil && cur.Waiting.Reason == campaign.WaitWinner {
			c = cur
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %s never waited for its winner: %+v", c.ID, cur)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ids := map[string]profile.ID{}
	for o := range ps {
		p, id, err := b.profiles.Get(b.ctx, "default", o)
		if err != nil || p == nil {
			t.Fatalf("profile %s: %v", o, err)
		}
		ids[o] = id
	}
	// Test phase: nobody held back got anything; each other recipient got
	// one message with their variant's title. Everyone in variant 1 with
	// a news card clicks it.
	phase1 := b.delivered(ps)
	clicked := 0
	for o, n := range phase1 {
		k := c.Assign(ids[o])
		if k < 0 {
			t.Errorf("%s (holdout) got %d messages before the winner", o, n)
			continue
		}
		msgs := fake.Delivered(b.appID, o)
		if n != 1 {
			t.Errorf("%s: %d messages in the test phase, want 1", o, n)
		}
		if m := msgs[0]; m.Channel == "custom" {
			if want := []string{titles[0], "台风来了怎么办"}[k]; m.Content != want {
				t.Errorf("%s (variant %d) got %q, want %q", o, k, m.Content, want)
			}
			if k == 1 {
				if _, err := b.engine.Click(b.ctx, strings.TrimPrefix(m.URL, "https://kb.example.org/r/")); err != nil {
					t.Fatal(err)
				}
				clicked++
			}
		}
	}
	if len(phase1) == 0 || clicked == 0 {
		t.Fatalf("test phase delivered %d, clicked %d: nothing to compare", len(phase1), clicked)
	}
	st, err := b.engine.Stats(b.ctx, c, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Variants) != 3 || !st.Variants[2].Holdout {
		t.Fatalf("stats.variants = %+v, want two variants and the holdout", st.Variants)
	}
	if got, want := st.Variants[0].Sent+st.Variants[1].Sent, st.Sent; got != want {
		t.Errorf("variants sent %d, campaign sent %d", got, want)
	}
	if got := st.Variants[1].Clicks; got != int64(clicked) {
		t.Errorf("variant 1 clicks = %d, want %d", got, clicked)
	}
	for _, v := range st.Variants[:2] {
		if v.Sent > 0 && (v.CILow > v.CTR || v.CIHigh < v.CTR || v.CTR != float64(v.Clicks)/float64(v.Sent)) {
			t.Errorf("variant %+v: ctr outside its interval", v)
		}
	}
	// Two hours on: the winner (variant 1, the only one clicked) goes to
	// the holdout.
	clk.mu.Lock()
	clk.t = clk.t.Add(2*time.Hour + time.Minute)
	clk.mu.Unlock()
	done := b.waitDone(t, c.ID, 30*time.Second)
	if done.Winner == nil || *done.Winner != 1 {
		t.Fatalf("winner = %v, want variant 1", done.Winner)
	}
	holdReached := 0
	for o, n := range b.delivered(ps) {
		if n != 1 {
			t.Errorf("%s: %d messages in all, want 1", o, n)
		}
		if _, before := phase1[o]; !before {
			if c.Assign(ids[o]) >= 0 {
				t.Errorf("%s (variant %d) reached in the winner phase", o, c.Assign(ids[o]))
			}
			if m := fake.Delivered(b.appID, o)[0]; m.Channel == "custom" && m.Content != "台风来了怎么办" {
				t.Errorf("%s (holdout) got %q, want the winner's title", o, m.Content)
			}
			holdReached++
		}
	}
	st, err = b.engine.Stats(b.ctx, done, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if holdReached == 0 || st.Variants[2].Sent != int64(holdReached) {
		t.Errorf("winner phase reached %d, holdout stats %+v", holdReached, st.Variants[2])
	}
	if st.Pending != 0 {
		t.Errorf("pending %d after the winner phase, want 0", st.Pending)
	}
}
