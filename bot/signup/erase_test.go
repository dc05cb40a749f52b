package signup_test

import (
	"strings"
	"testing"
	"time"
)

// Finding 13: erasing a confirmed attendee frees their place for the
// first on the waiting list, who is told; and no key name left behind
// carries the erased openid (chat operation results are named by
// pseudonym).
func TestEraseConfirmedPromotesWaitlist(t *testing.T) {
	start := time.Date(2027, 9, 18, 14, 30, 0, 0, shanghai)
	b := setup(t, start.Add(-5*24*time.Hour), "")
	ev := b.event(t, scienceDay(start, 2))
	for _, o := range []string{"oErase1", "oErase2", "oErase3"} {
		fake.Follow(b.appID, o)
		b.text(t, o, "报名 "+ev.Code)
	}
	if st, _, _ := b.svc.StatusOf(b.ctx, "default", ev.ID, "oErase3"); st != 2 {
		t.Fatalf("third sign-up has status %v, want wait-listed", st)
	}
	if err := b.svc.Erase(b.ctx, "default", "oErase1"); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := b.svc.StatusOf(b.ctx, "default", ev.ID, "oErase3"); st != 1 {
		t.Errorf("after the erasure of a confirmed attendee, the first wait-listed has status %v, want confirmed", st)
	}
	if sum, _ := b.svc.Summary(b.ctx, "default", ev.ID); sum.Confirmed != 2 || sum.Waitlisted != 0 {
		t.Errorf("Summary = %+v, want 2 confirmed, none waiting", sum)
	}
	b.work(t)
	waitFor(t, "the promotion notice", func() bool { return len(b.received("oErase3", "custom")) > 0 })
	keys, err := b.rdb.Keys(b.ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, "oErase1") {
			t.Errorf("key %q names the erased subscriber", k)
		}
	}
}
