package search

import (
	"fmt"
	"slices"
	"testing"

	"github.com/zengcheng-kexie/kepubot/content"
)

// Update answers exactly as an index built afresh over the same items:
// after a publish (an item added), a retire (one removed) and an edit (a
// new version of one, its old words gone).
func TestUpdateMatchesNewIndex(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := slices.Clone(f.items[1:])
	for i := range base {
		base[i].Version = 1
	}
	added := f.items[0]
	added.Version = 1
	edited := base[0]
	edited.Version, edited.Title = 2, "蚕豆新品种试种"

	for _, tc := range []struct {
		name  string
		items []content.Item
	}{
		{"publish", append(slices.Clone(base), added)},
		{"retire", slices.Clone(base[1:])},
		{"edit", append([]content.Item{edited}, base[1:]...)},
	} {
		old := NewIndex(f.seg, base, f.topicWords)
		got, want := old.Update(tc.items), NewIndex(f.seg, tc.items, f.topicWords)
		for _, q := range []string{"荔枝", "蚕豆", "台风", "防诈骗", "养鱼", added.Title, base[0].Title} {
			g, w := ids(got.Search(Query{Text: q}, 5)), ids(want.Search(Query{Text: q}, 5))
			if !slices.Equal(g, w) {
				t.Errorf("%s: Update().Search(%q) = %v, want %v (a fresh index)", tc.name, q, g, w)
			}
		}
		if got.Len() != len(tc.items) {
			t.Errorf("%s: Update().Len() = %d, want %d", tc.name, got.Len(), len(tc.items))
		}
	}
	// The old index is unchanged: searches in flight keep their answers.
	old := NewIndex(f.seg, base, f.topicWords)
	before := ids(old.Search(Query{Text: base[0].Title}, 5))
	old.Update(nil)
	if after := ids(old.Search(Query{Text: base[0].Title}, 5)); !slices.Equal(after, before) {
		t.Errorf("Update changed the old index: %v, then %v", before, after)
	}
}

// BenchmarkIndexUpdate measures what a publish costs each replica's chat
// search on a library of 10,000 items: Update with one new item, against
// building the index afresh (the baseline, what a rebuild costs).
func BenchmarkIndexUpdate(b *testing.B) {
	f := setup(b)
	n := 10_000
	if testing.Short() {
		n = 1_000
	}
	items := syntheticItems(b, n)
	for i := range items {
		items[i].Version = 1
	}
	old := NewIndex(f.seg, items[:len(items)-1], f.topicWords)
	for _, bc := range []struct {
		name string
		run  func()
	}{
		{"rebuild", func() { NewIndex(f.seg, items, f.topicWords) }},
		{"update", func() { old.Update(items) }},
	} {
		b.Run(fmt.Sprintf("%s/items=%d", bc.name, len(items)), func(b *testing.B) {
			for b.Loop() {
				bc.run()
			}
		})
	}
}
