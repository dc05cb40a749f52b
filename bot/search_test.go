package bot_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/configs"
	"github.com/zengcheng-kexie/kepubot/content"
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
