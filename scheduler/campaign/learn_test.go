package campaign_test

import (
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign/campaigntest"
)

// A click on a pushed link and on a search result's link raise the
// subscriber's interest in the item's topics (once per campaign), count
// in the item's popularity among their group, and the plan's sample says
// so in its factors.
func TestClicksTeach(t *testing.T) {
	t.Parallel()
	rec := campaigntest.NewSender()
	var links *campaign.Links
	b := setup(t, clock.Now, func(b *bundle, cfg *campaign.Config) {
		var err error
		if links, err = campaign.NewLinks(b.ctx, b.rdb, "https://kb.example.org"); err != nil {
			t.Fatal(err)
		}
		cfg.Links = links
		cfg.Sender = func(string) (campaign.Sender, error) { return rec, nil }
	})
	ps := b.population(t, 200)
	b.openWindows(ps, 10)
	b.run(t, "w1", 2)
	c := b.create(t, &campaign.Campaign{Name: "台风", Audience: "group:farmer & town:paitan", Mode: campaign.ModeItem, ItemID: "it2"})
	b.waitDone(t, c.ID, 30*time.Second)
	rec.Lock()
	var openID, link string
	for o, a := range rec.News {
		openID, link = o, a.URL
		break
	}
	rec.Unlock()
	if link == "" {
		t.Fatal("no news message sent")
	}
	tok := strings.TrimPrefix(link, "https://kb.example.org/r/")
	weight := func(topic string) int {
		t.Helper()
		p, _, err := b.profiles.Get(b.ctx, "default", openID)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range p.Interests {
			if in.Topic == topic {
				return int(in.Weight)
			}
		}
		return 0
	}
	click := func(tok string) {
		t.Helper()
		if _, err := b.engine.Click(b.ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	click(tok)
	click(tok) // counted once per subscriber and campaign
	if got, want := weight("disaster"), 40; got != want {
		t.Errorf("after clicking a disaster item (twice), weight(disaster) = %d, want %d", got, want)
	}
	cl, err := links.Parse(tok)
	if err != nil || cl.ID == nil {
		t.Fatalf("Parse(%q) = %+v, %v", tok, cl, err)
	}
	it1, _ := b.items.Item(b.ctx, "default", "it1")
	click(strings.TrimPrefix(b.engine.SearchURL("default", it1, *cl.ID), "https://kb.example.org/r/"))
	if got, want := weight("litchi"), 200+30; got != want {
		t.Errorf("after opening a litchi search result, weight(litchi) = %d, want %d", got, want)
	}
	st, err := b.engine.Stats(b.ctx, c, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Clicks != 1 {
		t.Errorf("campaign clicks = %d, want 1 (a search result's click is no campaign's)", st.Clicks)
	}

	// The clicker's group now finds it1 popular: the plan says so.
	pc := &campaign.Campaign{Account: "default", Name: "个性化", Audience: "group:farmer & town:xintang", Mode: campaign.ModePersonalized,
		CreatedAt: b.now(), Status: campaign.StatusDraft}
	if err := b.store.Create(b.ctx, pc); err != nil {
		t.Fatal(err)
	}
	rep, err := b.engine.Plan(b.ctx, pc, 20)
	if err != nil {
		t.Fatal(err)
	}
	explained := 0
	for _, line := range rep.Sample {
		if line.Item == "" {
			continue
		}
		if line.Why == nil || len(line.Why.Factors) == 0 || line.Why.Probability <= 0 {
			t.Fatalf("plan line %+v has no explanation", line)
		}
		if line.Item == "it1" {
			names := map[string]bool{}
			for _, f := range line.Why.Factors {
				names[f.Name+":"+f.Topic] = true
			}
			if !names["interest:litchi"] || !names["popular:"] {
				t.Errorf("why it1 for %s: factors %+v, want interest:litchi and popular", line.OpenID, line.Why.Factors)
			}
			explained++
		}
	}
	if explained == 0 {
		t.Errorf("plan sample %+v: nobody gets it1", rep.Sample)
	}
}

// A click on a mass send's shared link names no one: it counts in the
// campaign's clicks and in the item's popularity among the groups of the
// send's recipients, in proportion, and changes no one's interests.
func TestMassClicksTeachPopularity(t *testing.T) {
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
	ps := b.population(t, 120) // no open windows: everyone by mass send
	b.run(t, "w1", 2)
	c := b.create(t, &campaign.Campaign{Name: "荔枝", Audience: "town:paitan & (group:farmer | group:worker)", Mode: campaign.ModeItem, ItemID: "it1"})
	b.waitDone(t, c.ID, 30*time.Second)
	rec.Lock()
	var link string
	if len(rec.Texts) > 0 {
		_, rest, _ := strings.Cut(rec.Texts[0], "https://kb.example.org/r/")
		link, _, _ = strings.Cut(rest, "\n")
	}
	rec.Unlock()
	if link == "" {
		t.Fatalf("no mass text with a tracked link: %+v", rec.Texts)
	}
	if _, err := b.engine.Click(b.ctx, strings.TrimSpace(link)); err != nil {
		t.Fatal(err)
	}
	st, err := b.engine.Stats(b.ctx, c, nil, nil)
	if err != nil || st.Clicks != 1 {
		t.Fatalf("campaign clicks = %d, %v; want 1", st.Clicks, err)
	}
	for o, want := range ps {
		p, _, err := b.profiles.Get(b.ctx, "default", o)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Interests) != 1 || p.Interests[0] != want.Interests[0] {
			t.Fatalf("%s's interests after a mass click: %v, want %v unchanged", o, p.Interests, want.Interests)
		}
	}
	// Farmers and workers elsewhere now find it1 popular; residents (no
	// resident got the send) do not.
	popular := func(expr string) (yes, no int) {
		pc := &campaign.Campaign{Account: "default", Name: "个性化 " + expr, Audience: expr, Mode: campaign.ModePersonalized,
			CreatedAt: b.now(), Status: campaign.StatusDraft}
		if err := b.store.Create(b.ctx, pc); err != nil {
			t.Fatal(err)
		}
		rep, err := b.engine.Plan(b.ctx, pc, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range rep.Sample {
			if line.Item != "it1" || line.Why == nil {
				continue
			}
			found := false
			for _, f := range line.Why.Factors {
				found = found || f.Name == "popular" && f.Points > 0
			}
			if found {
				yes++
			} else {
				no++
			}
		}
		return yes, no
	}
	for _, g := range []string{"farmer", "worker"} {
		if yes, no := popular("town:xintang & group:" + g); yes == 0 || no > 0 {
			t.Errorf("%ss elsewhere: %d plan lines say it1 is popular, %d do not; want all", g, yes, no)
		}
	}
	if yes, no := popular("town:xintang & group:resident"); yes > 0 || no == 0 {
		t.Errorf("residents: %d plan lines say it1 is popular, %d do not; want none", yes, no)
	}
}
