package demand

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

func TestRecordAndTop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	l := New(redistest.Start(t), loc)
	day := time.Date(2027, 6, 1, 9, 0, 0, 0, loc)
	l.Record(ctx, "default", []string{"荔枝", "施肥"}, "farmer", "paitan", day)
	l.Record(ctx, "default", []string{"荔枝"}, "farmer", "zhengguo", day.AddDate(0, 0, 1))
	l.Record(ctx, "default", []string{"台风"}, "resident", "xintang", day)
	top, err := l.Top(ctx, "default", "all", day, day.AddDate(0, 0, 1), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || top[0].Word != "荔枝" || top[0].Count != 2 {
		t.Errorf("Top(all) = %+v, want 荔枝×2 first", top)
	}
	if top, _ := l.Top(ctx, "default", "t:paitan", day, day, 10); len(top) != 2 {
		t.Errorf("Top(paitan) = %+v, want 荔枝 and 施肥", top)
	}
	if top, _ := l.Top(ctx, "default", "g:resident", day.AddDate(0, 0, 1), day.AddDate(0, 0, 1), 10); len(top) != 0 {
		t.Errorf("Top(resident, next day) = %+v, want none", top)
	}
}

// The segmenter splits single characters off a query (防诈骗 → 防 诈骗,
// 迟菜心 → 迟 菜心); the log counts words of two characters or more only.
func TestRecordSkipsSingleCharacters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := New(redistest.Start(t), time.UTC)
	day := time.Date(2027, 6, 1, 9, 0, 0, 0, time.UTC)
	records := [][]string{{"防", "诈骗"}, {"迟", "菜心"}, {"荔枝", "蒂", "蛀虫"}, {"防"}, {"ai"}}
	for _, words := range records {
		if err := l.Record(ctx, "default", words, "farmer", "paitan", day); err != nil {
			t.Fatalf("Record(%q): %v", words, err)
		}
	}
	for _, dim := range []string{"all", "g:farmer", "t:paitan"} {
		top, err := l.Top(ctx, "default", dim, day, day, 20)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, c := range top {
			got[c.Word] = c.Count
		}
		want := map[string]int64{"诈骗": 1, "菜心": 1, "荔枝": 1, "蛀虫": 1, "ai": 1}
		if !maps.Equal(got, want) {
			t.Errorf("Top(%s) = %v, want %v", dim, got, want)
		}
	}
}
