package campaign_test

import (
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign/campaigntest"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// Every channel's preview (the plan's sample, rendered by Render) is
// exactly what the engine then sends that subscriber, tracked links
// included, and making the preview records no click.
func TestRenderIsWhatIsSent(t *testing.T) {
	t.Parallel()
	const base = "https://kb.example.org"
	for _, notice := range []bool{false, true} {
		t.Run(map[bool]string{false: "content", true: "notice"}[notice], func(t *testing.T) {
			t.Parallel()
			rec := campaigntest.NewSender()
			var links *campaign.Links
			b := setup(t, clock.Now, func(b *bundle, cfg *campaign.Config) {
				var err error
				if links, err = campaign.NewLinks(b.ctx, b.rdb, base); err != nil {
					t.Fatal(err)
				}
				cfg.Links, cfg.Template = links, "tmplNotice"
				cfg.Sender = func(string) (campaign.Sender, error) { return rec, nil }
				cfg.Rules = func(string) plan.Rules {
					return plan.Rules{AccountType: plan.ServiceAccount, TemplateConfigured: true, Loc: shanghai}
				}
			})
			ps := b.population(t, 600)
			b.openWindows(ps, 10)
			c := b.create(t, &campaign.Campaign{Name: "预览", Audience: "group:farmer & town:paitan", Mode: campaign.ModeItem,
				ItemID: "it1", Notice: notice})
			rep, err := b.engine.Plan(b.ctx, c, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if st, err := b.engine.Stats(b.ctx, c, nil, nil); err != nil || st.Clicks != 0 {
				t.Fatalf("after the preview: %d clicks, %v; want none", st.Clicks, err)
			}
			b.run(t, "w1", 2)
			b.waitDone(t, c.ID, 30*time.Second)

			ids := map[string]profile.ID{}
			for _, line := range rep.Sample {
				_, id, err := b.profiles.Get(b.ctx, "default", line.OpenID)
				if err != nil {
					t.Fatal(err)
				}
				ids[line.OpenID] = id
			}
			rec.Lock()
			defer rec.Unlock()
			seen := map[string]int{}
			for _, line := range rep.Sample {
				m := line.Message
				if line.Channel == "" {
					if m != nil {
						t.Errorf("%s is not reached but has a preview %+v", line.OpenID, m)
					}
					continue
				}
				if m == nil || m.Channel != line.Channel {
					t.Fatalf("%s: channel %s, preview %+v", line.OpenID, line.Channel, m)
				}
				seen[m.Channel]++
				// The link is the tracked one: this campaign, this item, and
				// this subscriber (a mass message's link names no one).
				click, err := links.Parse(strings.TrimPrefix(m.URL, base+"/r/"))
				if err != nil || !strings.HasPrefix(m.URL, base+"/r/") || click.Campaign != c.ID || click.Item != "it1" {
					t.Errorf("%s: link %q (%+v, %v) is not this campaign's tracked link", line.OpenID, m.URL, click, err)
				}
				wantID := ids[line.OpenID]
				switch m.Channel {
				case "custom":
					want := wechat.Article{Title: m.Title, Description: m.Description, URL: m.URL, PicURL: m.PicURL}
					if got, ok := rec.News[line.OpenID]; !ok || got != want || m.Title != "荔枝花期管理" {
						t.Errorf("%s: preview %+v, sent %+v", line.OpenID, want, got)
					}
				case "template":
					got, ok := rec.Templates[line.OpenID]
					if !ok || got.URL != m.URL || got.TemplateID != "tmplNotice" || len(got.Data) != len(m.Fields) ||
						m.Fields["thing1"] != "荔枝花期管理" {
						t.Errorf("%s: preview %+v, sent %+v", line.OpenID, m, got)
					}
					for k, v := range m.Fields {
						if got.Data[k] != v {
							t.Errorf("%s: preview %s=%q, sent %q", line.OpenID, k, v, got.Data[k])
						}
					}
				case "mass":
					wantID = profile.ID{}
					if got, ok := rec.Mass[line.OpenID]; !ok || got != m.Text || !strings.HasSuffix(m.Text, "阅读全文："+m.URL) {
						t.Errorf("%s: preview %q, sent %q", line.OpenID, m.Text, got)
					}
				default:
					t.Errorf("%s: unexpected channel %s", line.OpenID, m.Channel)
				}
				if (click.ID == nil) != (wantID == profile.ID{}) || (click.ID != nil && *click.ID != wantID) {
					t.Errorf("%s: %s link names subscriber %v, want %v", line.OpenID, m.Channel, click.ID, wantID)
				}
			}
			want := []string{"custom", "mass"}
			if notice {
				want = []string{"custom", "template"}
			}
			for _, ch := range want {
				if seen[ch] == 0 {
					t.Errorf("the sample covers %v; want %v", seen, want)
				}
			}
			if len(seen) != len(want) {
				t.Errorf("the sample covers %v; want only %v", seen, want)
			}
		})
	}
}
