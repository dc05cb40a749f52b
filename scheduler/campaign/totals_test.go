package campaign_test

import (
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// Totals, the list's numbers, are Stats' sent and clicks, subscriber and
// mass clicks included, for each campaign asked about.
func TestTotalsAreStats(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	b := setup(t, clock.Now, func(b *bundle, cfg *campaign.Config) {
		links, err := campaign.NewLinks(b.ctx, b.rdb, "https://kb.example.org")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Links = links
		cfg.Sender = func(string) (campaign.Sender, error) { return rec, nil }
	})
	ps := b.population(t, 600)
	b.openWindows(ps, 10)
	b.run(t, "w1", 2)
	c := b.create(t, &campaign.Campaign{Name: "合计", Audience: "group:farmer & town:paitan", Mode: campaign.ModeItem, ItemID: "it1"})
	c = b.waitDone(t, c.ID, 30*time.Second)
	idle := b.create(t, &campaign.Campaign{Name: "未发", Audience: "group:worker", Mode: campaign.ModeItem, ItemID: "it2", Notice: true})

	rec.mu.Lock()
	var tokens []string
	for _, a := range rec.news {
		tokens = append(tokens, a.URL, a.URL) // a second click counts once
	}
	for _, text := range rec.mass {
		tokens = append(tokens, text[strings.LastIndex(text, "：")+len("："):])
		break
	}
	rec.mu.Unlock()
	if len(tokens) < 3 {
		t.Fatalf("sent %d news links and mass texts; want some of both", len(tokens))
	}
	for _, u := range tokens {
		if _, err := b.engine.Click(b.ctx, strings.TrimPrefix(u, "https://kb.example.org/r/")); err != nil {
			t.Fatal(err)
		}
	}
	st, err := b.engine.Stats(b.ctx, c, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.engine.Totals(b.ctx, "default", []string{c.ID, idle.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := []campaign.Totals{{Sent: st.Sent, Clicks: st.Clicks}, {}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] || st.Sent == 0 || st.Clicks != int64(len(tokens)/2+1) {
		t.Errorf("Totals = %+v, want %+v (Stats sent %d, clicks %d; %d links clicked)", got, want, st.Sent, st.Clicks, len(tokens))
	}
}
