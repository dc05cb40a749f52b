package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/configs"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/demand"
	"github.com/zengcheng-kexie/kepubot/content/search"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// sampleIndex indexes the sample library as published items.
func sampleIndex(t *testing.T) (*search.Index, *search.Segmenter) {
	t.Helper()
	b, err := configs.Samples.ReadFile("samples/items.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Items []content.Item `yaml:"items"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for i := range f.Items {
		f.Items[i].ID, f.Items[i].Status = f.Items[i].ExternalID, content.StatusPublished
	}
	seg, err := search.DefaultSegmenter()
	if err != nil {
		t.Fatal(err)
	}
	tax, _ := taxonomy.Default()
	words := map[string][]string{}
	for _, tp := range tax.Topics {
		words[tp.ID] = append([]string{tp.Name, tp.Short}, tp.Synonyms...)
	}
	return search.NewIndex(seg, f.Items, words), seg
}

func TestChatSearch(t *testing.T) {
	t.Parallel()
	ix, seg := sampleIndex(t)
	var cs *bot.ContentSearch
	f := setup(t, func(o *bot.Options) {
		cs = bot.NewContentSearch(seg, nil, nil)
		cs.SetIndex("default", ix)
		o.Search = cs
	})
	f.event(t, "oS1", "subscribe", "", nil)
	f.text(t, "oS1", "农民")
	f.text(t, "oS1", "派潭")
	f.text(t, "oS1", "气象")
	r := f.text(t, "oS1", "荔枝")
	body := r.Content
	for _, a := range r.Articles {
		body += a.Title + a.Description
	}
	if !strings.Contains(body, "荔枝") {
		t.Errorf("search 荔枝 answered %q %+v, want litchi items", r.Content, r.Articles)
	}
	if p := f.profile(t, "oS1"); !p.HasInterest("litchi") {
		t.Errorf("searching 荔枝 did not raise interest in litchi: %+v", p.Interests)
	}
	wantContains(t, f.text(t, "oS1", "zzqqxxyy"), "没找到")
	// No sample item is about robots: 机器人 (a synonym of 科技) gets the
	// nothing-found answer, not the 科技 items (issue 19).
	wantContains(t, f.text(t, "oS1", "机器人"), "没找到")
}

// With SetLinks, a search's answer links are tracked links for the
// subscriber: opening one teaches, as a click on a push does.
func TestChatSearchLinksAreTracked(t *testing.T) {
	t.Parallel()
	ix, seg := sampleIndex(t)
	f := setup(t, func(o *bot.Options) {
		cs := bot.NewContentSearch(seg, nil, nil)
		cs.SetIndex("default", ix)
		cs.SetLinks(func(account string, it *content.Item, id profile.ID) string {
			return fmt.Sprintf("https://kb.example.org/r/%s|%s|%d", account, it.ID, id.Uint64())
		})
		o.Search = cs
	})
	f.event(t, "oL1", "subscribe", "", nil)
	f.text(t, "oL1", "农民")
	f.text(t, "oL1", "派潭")
	f.text(t, "oL1", "气象")
	r := f.text(t, "oL1", "荔枝")
	body := r.Content
	for _, a := range r.Articles {
		body += "\n" + a.URL
	}
	if !strings.Contains(body, "https://kb.example.org/r/default|sample-litchi-") || strings.Contains(body, "https://kepu") {
		t.Errorf("search 荔枝 answered %q, want tracked links only", body)
	}
}

// A recognised voice message searches like typed text and counts in the
// demand log.
func TestVoiceSearchCountsInDemand(t *testing.T) {
	t.Parallel()
	ix, seg := sampleIndex(t)
	var cs *bot.ContentSearch
	log := demand.New(redistest.Start(t), time.UTC)
	f := setup(t, func(o *bot.Options) {
		cs = bot.NewContentSearch(seg, log, nil)
		cs.SetIndex("default", ix)
		o.Search = cs
	})
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { defer close(done); cs.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	f.event(t, "oSV", "subscribe", "", nil)
	f.text(t, "oSV", "跳过")
	f.text(t, "oSV", "跳过")
	f.text(t, "oSV", "跳过")
	f.clock.Add(time.Second)
	r, err := f.phone.Voice(f.ctx, "oSV", "荔枝。")
	if err != nil {
		t.Fatal(err)
	}
	body := r.Content
	for _, a := range r.Articles {
		body += a.Title + a.Description
	}
	if !strings.Contains(body, "荔枝") {
		t.Errorf("voice 荔枝 answered %q %+v, want litchi items", r.Content, r.Articles)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		top, err := log.Top(f.ctx, "default", "all", f.clock.Now().AddDate(0, 0, -1), f.clock.Now().AddDate(0, 0, 1), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(top) > 0 && top[0].Word == "荔枝" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demand log after a spoken 荔枝 = %v, want 荔枝", top)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
