package campaign_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// Finding 3: a tracked link leads to the version of the item that was
// sent, not to an unreviewed edit made since; a retired item's link leads
// to a withdrawal notice (with the correction), not to the item.
func TestLinkLeadsToSentVersion(t *testing.T) {
	t.Parallel()
	const base = "https://kb.example.org"
	var lib *content.Store
	var links *campaign.Links
	b := setup(t, clock.Now, func(b *bundle, cfg *campaign.Config) {
		lib = content.NewStore(b.rdb, b.now)
		cfg.Items = campaign.StoreItems{Store: lib}
		var err error
		if links, err = campaign.NewLinks(b.ctx, b.rdb, base); err != nil {
			t.Fatal(err)
		}
		cfg.Links = links
	})
	publish := func(title, url string) content.Item {
		it, err := lib.CreateItem(b.ctx, "default", content.Item{Title: title, Summary: "摘要。", URL: url, Source: "科协",
			Audience: content.Audience{Groups: []string{"farmer"}, Towns: []string{"paitan"}, Topics: []string{"litchi"}}}, "u_1")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []struct {
			a  content.Action
			by string
		}{{content.ActionSubmit, "u_1"}, {content.ActionApprove, "u_2"}, {content.ActionPublish, "u_2"}} {
			if it, err = lib.Transition(b.ctx, "default", it.ID, s.a, s.by, ""); err != nil {
				t.Fatal(err)
			}
		}
		return it
	}
	started := b.now()
	camp := func(name, item, correctionOf string) *campaign.Campaign {
		c := &campaign.Campaign{Account: "default", Name: name, Audience: "group:farmer", Mode: campaign.ModeItem,
			ItemID: item, CorrectionOf: correctionOf, CreatedAt: b.now(), Status: campaign.StatusDone, StartedAt: &started}
		if err := b.store.Create(b.ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	token := func(u string) string { return strings.TrimPrefix(u, base+"/r/") }

	it := publish("荔枝花期管理", "https://kepu.example.org/a/1")
	c := camp("荔枝", it.ID, "")
	sent := token(links.ItemURL("default", c.ID, it.ID, it.Version, nil))
	legacy := token(links.URL("default", c.ID, it.ID, nil)) // a link made before versions were carried
	// An editor changes the URL after the send: the item is a draft again.
	edit := it
	edit.URL = "https://evil.example.com/x"
	if _, _, err := lib.UpdateItem(b.ctx, "default", it.ID, edit, "u_3"); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"versioned": sent, "legacy": legacy} {
		to, err := b.engine.Click(b.ctx, tok)
		if err != nil || to != "https://kepu.example.org/a/1" {
			t.Errorf("%s link after an edit leads to %q, %v; want the sent version's URL", name, to, err)
		}
	}

	// Retired, with a correction sent in its place.
	wrong := publish("错误的用药建议", "https://kepu.example.org/a/2")
	wc := camp("用药", wrong.ID, "")
	fixed := publish("正确的用药建议", "https://kepu.example.org/a/3")
	if _, err := lib.Transition(b.ctx, "default", wrong.ID, content.ActionRetire, "u_2", "剂量写错了"); err != nil {
		t.Fatal(err)
	}
	camp("更正", fixed.ID, wrong.ID)
	to, err := b.engine.Click(b.ctx, token(links.ItemURL("default", wc.ID, wrong.ID, wrong.Version, nil)))
	var wd *campaign.WithdrawnError
	if !errors.As(err, &wd) || to != "" {
		t.Fatalf("retired item's link = %q, %v; want a WithdrawnError", to, err)
	}
	if wd.Title != "错误的用药建议" || wd.Reason != "剂量写错了" || wd.Correction == nil || wd.Correction.URL != "https://kepu.example.org/a/3" {
		t.Errorf("withdrawn = %+v (correction %+v)", wd, wd.Correction)
	}
}
