package campaign_test

import (
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// send_time "optimal" on an injected clock: at the 08:00 start, those
// without a known best hour and those whose best hour falls in the quiet
// hours get the item; those who read at 10:00 get it at 10:00, once.
func TestSendTimeOptimal(t *testing.T) {
	t.Parallel()
	clk := &testClock{t: time.Date(2027, 4, 6, 8, 0, 0, 0, shanghai), real: time.Now()}
	b := setupQuiet(t, clk.Now, "21:30-07:30")
	ps := b.population(t, 120)
	hours := map[string]int{} // openid → the hour they read at (-1: unknown)
	n := 0
	for o, p := range ps {
		if !p.Subscribed || p.OptedOut {
			continue
		}
		h := []int{-1, 10, 23}[n%3]
		n++
		hours[o] = h
		fake.UserMessage(b.appID, o)
		if err := b.profiles.Update(b.ctx, "default", o, func(p *profile.Profile) (*profile.Profile, error) {
			p.TouchMessage(clk.Now())
			if h >= 0 {
				for range 4 {
					p.Reading.Note(time.Date(2027, 4, 5, h, 0, 0, 0, shanghai))
				}
			}
			return p, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	b.run(t, "w", 3)
	c, err := b.engine.Create(b.ctx, "default", campaign.Draft{Name: "各自的时间", ItemID: "it2", SendTime: campaign.SendOptimal})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.engine.Change(b.ctx, "default", c.ID, campaign.ActStart); err != nil {
		t.Fatal(err)
	}
	early := 0
	for _, h := range hours {
		if h != 10 {
			early++
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(b.delivered(ps)) < early {
		if time.Now().After(deadline) {
			t.Fatalf("at 08:00, %d delivered, want %d", len(b.delivered(ps)), early)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for o := range b.delivered(ps) {
		if hours[o] == 10 {
			t.Errorf("%s reads at 10:00 but got the item at 08:00", o)
		}
	}
	cur, err := b.store.Get(b.ctx, "default", c.ID)
	if err != nil || cur.Status != campaign.StatusRunning {
		t.Fatalf("at 08:00 the campaign is %v (%v), want running", cur, err)
	}
	// The clock jumps to 10:00, perhaps while a chunk is still deciding
	// at 08:00: its wake-up is the readers' 10:00 (queue.At), not "2 h
	// after", so they get it now, not at 12:00.
	clk.mu.Lock()
	clk.t, clk.real = time.Date(2027, 4, 6, 10, 0, 0, 0, shanghai), time.Now()
	clk.mu.Unlock()
	b.waitDone(t, c.ID, 30*time.Second)
	got := b.delivered(ps)
	for o := range hours {
		if got[o] != 1 {
			t.Errorf("%s (best hour %d): %d messages, want 1", o, hours[o], got[o])
		}
	}
	if _, err := b.engine.Create(b.ctx, "default", campaign.Draft{Name: "x", ItemID: "it2", SendTime: "noon"}); err == nil {
		t.Error(`send_time "noon" accepted`)
	}
}
