package campaign_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign/campaigntest"
)

// Totals, the list's numbers, are Stats' sent and clicks, subscriber and
// mass clicks included, for each campaign asked about.
func TestTotalsAreStats(t *testing.T) {
	t.Parallel()
	rec := campaigntest.NewSender()
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

	rec.Lock()
	var tokens []string
	for _, a := range rec.News {
		tokens = append(tokens, a.URL, a.URL) // a second click counts once
	}
	for _, text := range rec.Mass {
		tokens = append(tokens, text[strings.LastIndex(text, "：")+len("："):])
		break
	}
	rec.Unlock()
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

// A link followed from a draft's preview leads to the item but records
// nothing: no click, no interest.
func TestPreviewLinkCountsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, clock.Now, func(b *bundle, cfg *campaign.Config) {
		links, err := campaign.NewLinks(b.ctx, b.rdb, "https://kb.example.org")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Links = links
	})
	ps := b.population(t, 300)
	b.openWindows(ps, 5)
	c := &campaign.Campaign{Account: "default", Name: "草稿", Audience: "group:farmer & town:paitan", Mode: campaign.ModeItem,
		ItemID: "it1", CreatedAt: b.now(), Status: campaign.StatusDraft}
	if err := b.store.Create(b.ctx, c); err != nil {
		t.Fatal(err)
	}
	rep, err := b.engine.Plan(b.ctx, c, 50)
	if err != nil {
		t.Fatal(err)
	}
	clicked := 0
	for _, line := range rep.Sample {
		if line.Message == nil {
			continue
		}
		before, _, _ := b.profiles.Get(b.ctx, "default", line.OpenID)
		to, err := b.engine.Click(b.ctx, strings.TrimPrefix(line.Message.URL, "https://kb.example.org/r/"))
		if err != nil || to != "https://kepu.example.org/a/1" {
			t.Fatalf("preview link of %s leads to %q, %v", line.Message.Channel, to, err)
		}
		after, _, _ := b.profiles.Get(b.ctx, "default", line.OpenID)
		if fmt.Sprint(before.Interests) != fmt.Sprint(after.Interests) {
			t.Errorf("a preview link changed interests %v → %v", before.Interests, after.Interests)
		}
		clicked++
	}
	got, err := b.engine.Totals(b.ctx, "default", []string{c.ID})
	if err != nil || clicked == 0 || got[0].Clicks != 0 {
		t.Errorf("after %d preview links followed: %+v, %v; want no clicks", clicked, got, err)
	}
}
