package demand

import (
	"context"
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
