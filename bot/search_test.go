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

// TestElderModeReplies: in elder mode the chat answers in short plain
// text with numbered choices: a search lists its items by number and a
// digit shows one (short version and link); the settings offer their
// changes by number; other digits keep meaning the menu.
func TestElderModeReplies(t *testing.T) {
	t.Parallel()
	ix, seg := sampleIndex(t)
	f := setup(t, func(o *bot.Options) {
		cs := bot.NewContentSearch(seg, nil, nil)
		cs.SetIndex("default", ix)
		o.Search = cs
	})
	f.event(t, "oE1", "subscribe", "", nil)
	f.text(t, "oE1", "长辈模式")
	f.text(t, "oE1", "1")
	f.text(t, "oE1", "跳过")
	done := f.text(t, "oE1", "跳过")
	wantContains(t, done, "设置好了", "请回复数字", "1 天气防灾")
	if strings.Contains(done.Content, "回复“帮助”看更多用法") {
		t.Errorf("elder mode's end of onboarding is the long form: %q", done.Content)
	}
	r := f.text(t, "oE1", "荔枝")
	if len(r.Articles) != 0 {
		t.Fatalf("elder-mode search answered with %d articles, want plain text", len(r.Articles))
	}
	wantContains(t, r, "找到", "\n1 ", "\n2 ", "回复数字看内容")
	first := strings.SplitN(strings.SplitN(r.Content, "\n1 ", 2)[1], "\n", 2)[0]
	shown := f.text(t, "oE1", "1")
	wantContains(t, shown, "《"+first+"》", "看全文：https://")
	for _, line := range strings.Split(shown.Content, "\n") {
		if n := len([]rune(line)); n > 120 && !strings.HasPrefix(line, "看全文：") {
			t.Errorf("elder-mode item line of %d characters: %q", n, line)
		}
	}
	// The list was answered: a digit is the menu again.
	wantContains(t, f.text(t, "oE1", "6"), "您的资料", "要改，请回复数字", "2 改镇街")
	wantContains(t, f.text(t, "oE1", "2"), "镇街")
	wantContains(t, f.text(t, "oE1", "派潭"), "已修改")
	if p := f.profile(t, "oE1"); p.Town != "paitan" {
		t.Errorf("town after 2 → 派潭 = %q, want paitan", p.Town)
	}
	// A word while the choices wait is a search, not a choice.
	f.text(t, "oE1", "我的")
	if r := f.text(t, "oE1", "台风"); !strings.Contains(r.Content, "台风") && !strings.Contains(r.Content, "找到") {
		t.Errorf("a search after the settings' choices answered %q", r.Content)
	}
	// Outside elder mode the same search answers in its long form.
	f.text(t, "oE1", "关闭长辈模式")
	if r := f.text(t, "oE1", "荔枝"); strings.Contains(r.Content, "回复数字看内容") || (len(r.Articles) == 0 && !strings.Contains(r.Content, "https://")) {
		t.Errorf("search outside elder mode answered %q %+v, want its items with their summaries", r.Content, r.Articles)
	}
}
