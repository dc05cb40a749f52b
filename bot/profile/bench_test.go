package profile

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

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
