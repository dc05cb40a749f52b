package profile

import (
	"fmt"
	"testing"
	"time"
)

// Follows mark their calendar day (in the store's time zone); a subscriber
// who came without a subscribe event (an import) marks none, and an
// unfollow and refollow marks the refollow's day.
func TestFollowDays(t *testing.T) {
	t.Parallel()
	f := setup(t)
	loc := f.store.loc
	today := time.Now().In(loc)
	yesterday := today.AddDate(0, 0, -1)
	follow := func(id string, at time.Time) {
		t.Helper()
		err := f.store.Update(f.ctx, "default", id, func(p *Profile) (*Profile, error) {
			if p == nil {
				p = farmer(id, at)
			}
			p.Subscribed, p.OptChangedAt = true, at
			return p, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		follow(fmt.Sprintf("y%d", i), yesterday)
	}
	for i := range 5 {
		follow(fmt.Sprintf("t%d", i), today)
	}
	// Imported followers have no follow time.
	if _, err := f.store.Import(f.ctx, "default", []*Profile{farmer("imported", today)}); err != nil {
		t.Fatal(err)
	}
	// y0 unfollows, then follows again today.
	err := f.store.Update(f.ctx, "default", "y0", func(p *Profile) (*Profile, error) {
		p.Subscribed, p.OptChangedAt = false, today.Add(-time.Minute)
		return p, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	follow("y0", today)
	// A change that is not a follow marks nothing.
	err = f.store.Update(f.ctx, "default", "t1", func(p *Profile) (*Profile, error) { p.Town = "licheng"; return p, nil })
	if err != nil {
		t.Fatal(err)
	}

	rows := []string{FollowIndex(today), FollowIndex(yesterday), FollowIndex(today.AddDate(0, 0, -2))}
	got, err := f.store.Count(f.ctx, "default", nil, rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{6, 3, 0} {
		if got.Rows[rows[i]] != want {
			t.Errorf("Count(%s) = %d, want %d", rows[i], got.Rows[rows[i]], want)
		}
	}
	// Erased subscribers leave the follow days.
	if err := f.store.Update(f.ctx, "default", "t0", func(*Profile) (*Profile, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.Count(f.ctx, "default", nil, rows[:1], nil); got.Rows[rows[0]] != 5 {
		t.Errorf("after erasing one, Count(%s) = %d, want 5", rows[0], got.Rows[rows[0]])
	}
}
