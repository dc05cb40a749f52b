package segment

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

type bundle struct {
	ctx      context.Context
	tax      *taxonomy.Taxonomy
	profiles *profile.Store
	segments *Store
	loc      *time.Location
	now      time.Time
}

func setup(t *testing.T) *bundle {
	t.Helper()
	rdb := redistest.Start(t)
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ps, err := profile.NewStore(ctx, rdb, loc)
	if err != nil {
		t.Fatal(err)
	}
	tax := testTaxonomy(t)
	return &bundle{ctx: ctx, tax: tax, profiles: ps, segments: NewStore(rdb, tax), loc: loc, now: time.Now()}
}

// randomProfiles makes n subscribers with every attribute sometimes
// missing, some unsubscribed or opted out, active over the last 40 days.
func randomProfiles(rng *rand.Rand, tax *taxonomy.Taxonomy, n int, now time.Time) []*profile.Profile {
	pick := func(k int) int { return rng.IntN(k + 1) } // k means "none"
	sources := []string{"training-2027", "fair", "Spring.Fair_2"}
	out := make([]*profile.Profile, n)
	for i := range out {
		p := &profile.Profile{
			OpenID:     fmt.Sprintf("oSeg%024d", i),
			Subscribed: rng.IntN(6) > 0,
			OptedOut:   rng.IntN(7) == 0,
			CreatedAt:  now.Add(-400 * 24 * time.Hour),
		}
		if j := pick(len(tax.Groups)); j < len(tax.Groups) {
			p.Group = tax.Groups[j].ID
		}
		if j := pick(len(tax.Towns)); j < len(tax.Towns) {
			p.Town = tax.Towns[j].ID
		}
		if j := pick(len(sources)); j < len(sources) {
			p.Source = sources[j]
		}
		for range rng.IntN(5) {
			p.SetInterest(tax.Topics[rng.IntN(len(tax.Topics))].ID, uint8(1+rng.IntN(255)))
		}
		if rng.IntN(8) > 0 {
			p.LastActiveAt = now.Add(-time.Duration(rng.Int64N(int64(40 * 24 * time.Hour))))
		}
		out[i] = p
	}
	return out
}

// matches evaluates an expression on one profile in Go: the brute force
// the Redis evaluation must agree with.
func (n *node) matches(p *profile.Profile, now time.Time, loc *time.Location) bool {
	switch n.kind {
	case kindFlag:
		switch n.key {
		case FlagSubscribed:
			return p.Subscribed
		case FlagOptedOut:
			return p.OptedOut
		}
		return true
	case kindNot:
		return !n.kids[0].matches(p, now, loc)
	case kindAnd:
		for _, k := range n.kids {
			if !k.matches(p, now, loc) {
				return false
			}
		}
		return true
	case kindOr:
		for _, k := range n.kids {
			if k.matches(p, now, loc) {
				return true
			}
		}
		return false
	}
	for _, v := range n.vals {
		switch n.key {
		case KeyGroup:
			if p.Group == v {
				return true
			}
		case KeyTown:
			if p.Town == v {
				return true
			}
		case KeyInterest:
			if p.HasInterest(v) {
				return true
			}
		case KeySource:
			if p.Source == v {
				return true
			}
		case KeyActive:
			var days int
			fmt.Sscanf(v, "%dd", &days)
			if p.LastActiveAt.IsZero() {
				continue
			}
			y, m, d := now.In(loc).Date()
			first := time.Date(y, m, d-days+1, 0, 0, 0, 0, loc)
			if !p.LastActiveAt.Before(first) {
				return true
			}
		}
	}
	return false
}

func bruteForce(e *Expr, ps []*profile.Profile, now time.Time, loc *time.Location) Breakdown {
	out := Breakdown{ByTown: map[string]int64{}, ByGroup: map[string]int64{}, ByTownGroup: map[string]map[string]int64{}}
	for _, p := range ps {
		if !p.Reachable() || !e.root.matches(p, now, loc) {
			continue
		}
		out.Count++
		if p.Town != "" {
			out.ByTown[p.Town]++
		}
		if p.Group != "" {
			out.ByGroup[p.Group]++
		}
		if p.Town != "" && p.Group != "" {
			if out.ByTownGroup[p.Town] == nil {
				out.ByTownGroup[p.Town] = map[string]int64{}
			}
			out.ByTownGroup[p.Town][p.Group]++
		}
	}
	return out
}

// randomExpr writes a random expression of the language.
func randomExpr(rng *rand.Rand, tax *taxonomy.Taxonomy, depth int) string {
	if depth > 2 || rng.IntN(3) == 0 {
		switch rng.IntN(9) {
		case 0:
			return "group:" + tax.Groups[rng.IntN(len(tax.Groups))].Name
		case 1:
			return fmt.Sprintf("town:(%s|%s)", tax.Towns[rng.IntN(len(tax.Towns))].ID, tax.Towns[rng.IntN(len(tax.Towns))].Short)
		case 2:
			return "interest:" + tax.Topics[rng.IntN(len(tax.Topics))].ID
		case 3:
			return "source:training-2027"
		case 4:
			return fmt.Sprintf("active:%dd", 1+rng.IntN(profile.ActiveDays))
		case 5:
			return []string{"subscribed", "opted_out", "all"}[rng.IntN(3)]
		case 6:
			return "group:" + tax.Groups[rng.IntN(len(tax.Groups))].ID
		case 7:
			return "town:" + tax.Towns[rng.IntN(len(tax.Towns))].ID
		}
		return "topic:" + tax.Topics[rng.IntN(len(tax.Topics))].Name
	}
	a, b := randomExpr(rng, tax, depth+1), randomExpr(rng, tax, depth+1)
	switch rng.IntN(4) {
	case 0:
		return a + " & " + b
	case 1:
		return a + " | " + b
	case 2:
		return "!(" + a + ")"
	}
	return "(" + a + " | " + b + ") & " + b
}

func TestPreviewMatchesBruteForce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rng := rand.New(rand.NewPCG(1, 2))
	ps := randomProfiles(rng, b.tax, 4000, b.now)
	for start := 0; start < len(ps); start += 1000 {
		if n, err := b.profiles.Import(b.ctx, "default", ps[start:start+1000]); err != nil || n != 1000 {
			t.Fatalf("Import = %d, %v; want 1000 created", n, err)
		}
	}
	exprs := []string{
		"", "all", "subscribed", "opted_out", "!opted_out", "!subscribed",
		"group:farmer & town:(paitan|zhengguo) & interest:litchi & !opted_out",
		"group:farmer & town:paitan & interest:litchi",
		"group:farmer | group:worker & town:paitan",
		"(group:farmer | group:worker) & town:paitan",
		"!(group:farmer | town:paitan)",
		"source:training-2027", "source:Spring.Fair_2", "source:never-used",
		"active:1d", "active:7d", "active:30d", "active:35d", "!active:30d",
		"town:派潭 & group:农民", "interest:(litchi|rice|vegetables)",
	}
	for range 150 {
		exprs = append(exprs, randomExpr(rng, b.tax, 0))
	}
	nonzero := 0
	for i, in := range exprs {
		e, err := Parse(in, b.tax)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		got, err := Preview(b.ctx, b.profiles, "default", e.Compile(b.now, b.loc), b.tax, i%2 == 0)
		if err != nil {
			t.Fatalf("Preview(%q): %v", in, err)
		}
		want := bruteForce(e, ps, b.now, b.loc)
		if want.Count > 0 {
			nonzero++
		}
		if got.Count != want.Count {
			t.Errorf("Preview(%q).Count = %d, want %d", in, got.Count, want.Count)
			continue
		}
		for _, tw := range b.tax.Towns {
			if got.ByTown[tw.ID] != want.ByTown[tw.ID] {
				t.Errorf("Preview(%q).ByTown[%s] = %d, want %d", in, tw.ID, got.ByTown[tw.ID], want.ByTown[tw.ID])
			}
			for _, g := range b.tax.Groups {
				if i%2 == 0 && got.ByTownGroup[tw.ID][g.ID] != want.ByTownGroup[tw.ID][g.ID] {
					t.Errorf("Preview(%q).ByTownGroup[%s][%s] = %d, want %d", in, tw.ID, g.ID, got.ByTownGroup[tw.ID][g.ID], want.ByTownGroup[tw.ID][g.ID])
				}
			}
		}
		for _, g := range b.tax.Groups {
			if got.ByGroup[g.ID] != want.ByGroup[g.ID] {
				t.Errorf("Preview(%q).ByGroup[%s] = %d, want %d", in, g.ID, got.ByGroup[g.ID], want.ByGroup[g.ID])
			}
		}
		if i%2 == 1 && got.ByTownGroup != nil {
			t.Errorf("Preview(%q, cross=false).ByTownGroup = %v, want nil", in, got.ByTownGroup)
		}
	}
	if nonzero < len(exprs)/2 {
		t.Errorf("only %d of %d expressions select anyone: the comparison proves little", nonzero, len(exprs))
	}
	// Unreachable subscribers are never counted, whatever the expression.
	e, _ := Parse("!subscribed | opted_out", b.tax)
	if got, err := Preview(b.ctx, b.profiles, "default", e.Compile(b.now, b.loc), b.tax, false); err != nil || got.Count != 0 {
		t.Errorf("Preview(!subscribed | opted_out) = %d, %v; want 0", got.Count, err)
	}
}

func TestSavedSegments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC)
	saved, err := b.segments.Save(b.ctx, "default", Saved{Name: "paitan-litchi", Expr: "town:派潭 & interest:荔枝", CreatedBy: "u1", CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if saved.Expr != "town:paitan & interest:litchi" {
		t.Errorf("Save stored expr %q, want the canonical form", saved.Expr)
	}
	if _, err := b.segments.Save(b.ctx, "default", Saved{Name: "farmers", Expr: "group:farmer"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.segments.Save(b.ctx, "other", Saved{Name: "farmers", Expr: "group:farmer"}); err != nil {
		t.Fatalf("same name in another account: %v", err)
	}

	tests := []struct {
		seg  Saved
		want error
	}{
		{Saved{Name: "farmers", Expr: "group:worker"}, ErrExists},
		{Saved{Name: "", Expr: "all"}, ErrInvalidName},
		{Saved{Name: "Farmers", Expr: "all"}, ErrInvalidName},
		{Saved{Name: strings.Repeat("a", 41), Expr: "all"}, ErrInvalidName},
		{Saved{Name: "a b", Expr: "all"}, ErrInvalidName},
	}
	for _, tt := range tests {
		if _, err := b.segments.Save(b.ctx, "default", tt.seg); !errors.Is(err, tt.want) {
			t.Errorf("Save(%+v) error = %v, want %v", tt.seg, err, tt.want)
		}
	}
	_, err = b.segments.Save(b.ctx, "default", Saved{Name: "bad", Expr: "town:patan"})
	var se *SyntaxError
	if !errors.As(err, &se) || se.Pos != 5 {
		t.Errorf("Save(town:patan) error = %v, want a *SyntaxError at 5", err)
	}

	got, err := b.segments.Get(b.ctx, "default", "paitan-litchi")
	if err != nil || got != saved {
		t.Errorf("Get = %+v, %v; want %+v", got, err, saved)
	}
	list, err := b.segments.List(b.ctx, "default")
	if err != nil || len(list) != 2 || list[0].Name != "farmers" || list[1].Name != "paitan-litchi" {
		t.Errorf("List = %+v, %v; want farmers, paitan-litchi", list, err)
	}
	if err := b.segments.Delete(b.ctx, "default", "farmers"); err != nil {
		t.Fatal(err)
	}
	if err := b.segments.Delete(b.ctx, "default", "farmers"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete error = %v, want ErrNotFound", err)
	}
	if _, err := b.segments.Get(b.ctx, "default", "farmers"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete error = %v, want ErrNotFound", err)
	}
	if list, _ := b.segments.List(b.ctx, "other"); len(list) != 1 {
		t.Errorf("List(other) = %+v, want its own segment only", list)
	}
}
