package search

import (
	"io/fs"
	"slices"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/zengcheng-kexie/kepubot/configs"
	"github.com/zengcheng-kexie/kepubot/content"
)

// fixture is shared by the tests: the segmenter takes a second or two to
// load, so it is built once.
type fixture struct {
	seg        *Segmenter
	items      []content.Item
	topicWords map[string][]string
	index      *Index
}

var (
	fixtureOnce sync.Once
	fixtureVal  fixture
)

func setup(tb testing.TB) fixture {
	tb.Helper()
	fixtureOnce.Do(func() {
		seg, err := DefaultSegmenter()
		if err != nil {
			tb.Fatalf("DefaultSegmenter: %v", err)
		}
		items := sampleItems(tb)
		words := taxonomyTopicWords(tb)
		fixtureVal = fixture{seg: seg, items: items, topicWords: words, index: NewIndex(seg, items, words)}
	})
	if fixtureVal.index == nil {
		tb.Fatal("fixture failed to build in another test")
	}
	return fixtureVal
}

func sampleItems(tb testing.TB) []content.Item {
	tb.Helper()
	data, err := fs.ReadFile(configs.Samples, "samples/items.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	var f struct {
		Items []content.Item `yaml:"items"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		tb.Fatalf("decode sample items: %v", err)
	}
	for i := range f.Items {
		f.Items[i].ID = f.Items[i].ExternalID
		f.Items[i].Status = content.StatusPublished
	}
	return f.Items
}

// taxonomyTopicWords reads the topic words from configs/taxonomy.yaml the
// way the caller passes them: id → name, short name and synonyms.
func taxonomyTopicWords(tb testing.TB) map[string][]string {
	tb.Helper()
	var f struct {
		Topics []struct {
			ID       string   `yaml:"id"`
			Name     string   `yaml:"name"`
			Short    string   `yaml:"short"`
			Synonyms []string `yaml:"synonyms"`
		} `yaml:"topics"`
	}
	if err := yaml.Unmarshal(configs.Taxonomy, &f); err != nil {
		tb.Fatalf("decode taxonomy: %v", err)
	}
	words := map[string][]string{}
	for _, t := range f.Topics {
		words[t.ID] = append([]string{t.Name, t.Short}, t.Synonyms...)
	}
	return words
}

func ids(rs []Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Item.ExternalID
	}
	return out
}

func TestSearchFindsTopicItemsFirst(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	tests := []struct {
		name      string
		q         Query
		wantTopic string // every item with this topic ranks before any without it
		wantTop3  string // the best three results carry this topic
		wantFirst string // optional: the best result
	}{
		{name: "litchi for a farmer in paitan", q: Query{Text: "荔枝", Group: "farmer", Town: "paitan"}, wantTopic: "litchi"},
		{name: "litchi fertiliser", q: Query{Text: "荔枝 施肥", Group: "farmer"}, wantTopic: "litchi", wantFirst: "sample-litchi-010"},
		{name: "litchi borer", q: Query{Text: "荔枝蒂蛀虫怎么防治"}, wantTopic: "litchi", wantFirst: "sample-litchi-004"},
		{name: "typhoon", q: Query{Text: "台风", Group: "resident"}, wantTop3: "disaster", wantFirst: "sample-disaster-001"},
		{name: "fraud", q: Query{Text: "防诈骗", Group: "resident"}, wantTop3: "safety", wantFirst: "sample-safety-004"},
		{name: "heat stroke", q: Query{Text: "中暑了怎么办"}, wantFirst: "sample-health-001"},
		{name: "fish floating", q: Query{Text: "鱼塘浮头", Group: "farmer"}, wantTopic: "aquaculture", wantFirst: "sample-aqua-001"},
		{name: "swine fever", q: Query{Text: "非洲猪瘟"}, wantTopic: "livestock", wantFirst: "sample-live-001"},
		{name: "e-bike", q: Query{Text: "电动车充电", Group: "worker", Town: "xintang"}, wantFirst: "sample-safety-002"},
		{name: "late choy sum", q: Query{Text: "迟菜心", Group: "farmer"}, wantTopic: "vegetables", wantFirst: "sample-veg-001"},
		{name: "punctuation", q: Query{Text: "  台风！！"}, wantTop3: "disaster", wantFirst: "sample-disaster-001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := fx.index.Search(tt.q, 5)
			if len(got) == 0 {
				t.Fatalf("Search(%q) = no results", tt.q.Text)
			}
			if tt.wantFirst != "" && got[0].Item.ExternalID != tt.wantFirst {
				t.Errorf("Search(%q) = %v, want %s first", tt.q.Text, ids(got), tt.wantFirst)
			}
			for _, r := range got[:min(3, len(got))] {
				if tt.wantTop3 != "" && !slices.Contains(r.Item.Topics, tt.wantTop3) {
					t.Errorf("Search(%q) = %v: %s is not about %s", tt.q.Text, ids(got), r.Item.ExternalID, tt.wantTop3)
				}
			}
			if tt.wantTopic == "" {
				return
			}
			all := fx.index.Search(tt.q, fx.index.Len())
			seenOther := false
			for _, r := range all {
				has := slices.Contains(r.Item.Topics, tt.wantTopic)
				if has && seenOther {
					t.Errorf("Search(%q): %s (topic %s) ranks after an item without it: %v", tt.q.Text, r.Item.ExternalID, tt.wantTopic, ids(all))
					break
				}
				seenOther = seenOther || !has
				if has && !slices.Contains(r.MatchedTopics, tt.wantTopic) {
					t.Errorf("Search(%q): %s MatchedTopics = %v, want %s", tt.q.Text, r.Item.ExternalID, r.MatchedTopics, tt.wantTopic)
				}
			}
		})
	}
}

func TestSearchProfileBoosts(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	// Two equally matching items: the one for the subscriber's town wins.
	mk := func(id string, towns []string, prio int) content.Item {
		return content.Item{ExternalID: id, Title: "荔枝控梢", Summary: "冬季控梢促花", Priority: prio,
			Audience: content.Audience{Groups: []string{"farmer"}, Towns: towns, Topics: []string{"litchi"}}}
	}
	ix := NewIndex(fx.seg, []content.Item{
		mk("a-xintang", []string{"xintang"}, 90),
		mk("b-paitan", []string{"paitan"}, 10),
		mk("c-all", nil, 50),
	}, fx.topicWords)
	tests := []struct {
		q    Query
		want []string
	}{
		{Query{Text: "荔枝", Town: "paitan"}, []string{"b-paitan", "c-all", "a-xintang"}},
		{Query{Text: "荔枝", Town: "xintang"}, []string{"a-xintang", "c-all", "b-paitan"}},
		{Query{Text: "荔枝"}, []string{"a-xintang", "c-all", "b-paitan"}}, // priority alone
	}
	for _, tt := range tests {
		if got := ids(ix.Search(tt.q, 3)); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%+v) = %v, want %v", tt.q, got, tt.want)
		}
	}

	// Interests break a tie between two topics the query does not name.
	ix = NewIndex(fx.seg, []content.Item{
		{ExternalID: "h", Title: "夏天注意事项", Audience: content.Audience{Topics: []string{"health"}}},
		{ExternalID: "s", Title: "夏天注意事项", Audience: content.Audience{Topics: []string{"safety"}}},
	}, fx.topicWords)
	for _, tt := range []struct {
		interests map[string]int
		want      string
	}{{map[string]int{"health": 3}, "h"}, {map[string]int{"safety": 5, "health": 1}, "s"}} {
		got := ix.Search(Query{Text: "夏天", Interests: tt.interests}, 2)
		if len(got) != 2 || got[0].Item.ExternalID != tt.want {
			t.Errorf("Search(夏天, interests %v) = %v, want %s first", tt.interests, ids(got), tt.want)
		}
	}
}

func TestSearchUnknownWords(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	for _, text := range []string{"", "   ", "！？。", "xyzzy", "的了吗", "嗯嗯嗯", "区块链元宇宙"} {
		if got := fx.index.Search(Query{Text: text, Group: "farmer"}, 3); len(got) != 0 {
			t.Errorf("Search(%q) = %v, want none", text, ids(got))
		}
	}
	if got := fx.index.Search(Query{Text: "荔枝"}, 0); got != nil {
		t.Errorf("Search with limit 0 = %v, want nil", ids(got))
	}
	empty := NewIndex(fx.seg, nil, fx.topicWords)
	if got := empty.Search(Query{Text: "荔枝"}, 3); got != nil {
		t.Errorf("empty index Search = %v, want nil", ids(got))
	}
}

func TestSearchLimit(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	for _, limit := range []int{1, 3, 10} {
		got := fx.index.Search(Query{Text: "荔枝"}, limit)
		if len(got) != limit {
			t.Errorf("Search(荔枝, %d) returned %d results", limit, len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].Score > got[i-1].Score {
				t.Errorf("results not sorted by score: %v", got)
			}
		}
	}
}

func TestQueryTopics(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	tests := []struct {
		text string
		want []string
	}{
		{"荔枝", []string{"litchi"}},
		{"荔枝 施肥", []string{"agriculture", "litchi"}},
		{"荔枝蒂蛀虫", []string{"litchi"}},
		{"台风来了怎么办", []string{"disaster"}},
		{"防诈骗", []string{"safety"}},
		{"非洲猪瘟", []string{"livestock"}},
		{"AI 换脸", []string{"technology"}},
		{"ＡＩ", []string{"technology"}},
		{"mail", nil},
		{"今天吃什么", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := fx.index.QueryTopics(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("QueryTopics(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestSegmenterWords(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	tests := []struct {
		text string
		want []string
	}{
		{"荔枝 施肥", []string{"荔枝", "施肥"}},
		{"荔枝，荔枝！", []string{"荔枝"}},
		{"  ", []string{}},
		{"丝苗米", []string{"丝苗米"}},
	}
	for _, tt := range tests {
		if got := fx.seg.Words(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestSearchConcurrent(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	want := ids(fx.index.Search(Query{Text: "台风 暴雨", Group: "farmer"}, 3))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if got := ids(fx.index.Search(Query{Text: "台风 暴雨", Group: "farmer"}, 3)); !slices.Equal(got, want) {
					t.Errorf("concurrent Search = %v, want %v", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// Issue 19: in the demo 机器人 found 教老人用好智能手机 (a 科技 item:
// 机器人 is a synonym of 科技, but no item says it) and 电商 found
// 学技能拿证书 first (its summary lists 电商 among trades). A search
// returns only items that say what was asked, or are about a topic named
// by its own name; weak passing mentions drop out.
func TestSearchOnlyRelevant(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	tests := []struct {
		text    string
		want    []string // exactly these, in order (nil = nothing)
		wantNot []string // or: at least one result, none of these
	}{
		{text: "机器人"},
		{text: "电商", want: []string{"sample-innov-001"}},
		{text: "电动车充电", want: []string{"sample-safety-002"}},
		{text: "保健品骗局", want: []string{"sample-safety-005"}},
		{text: "台风", want: []string{"sample-disaster-001", "sample-aqua-002"}},
		{text: "人工智能", wantNot: []string{"sample-tech-001", "sample-tech-003", "sample-tech-004"}},
		{text: "防诈骗", wantNot: []string{"sample-safety-001", "sample-aqua-001"}},
		// A topic's own name finds its items even where they do not say it.
		{text: "养鱼", want: []string{"sample-aqua-001", "sample-aqua-002", "sample-aqua-003"}},
	}
	for _, tt := range tests {
		got := ids(fx.index.Search(Query{Text: tt.text, Group: "worker", Town: "xiancun"}, 3))
		if tt.wantNot == nil {
			if !slices.Equal(got, tt.want) {
				t.Errorf("Search(%q) = %v, want %v", tt.text, got, tt.want)
			}
			continue
		}
		if len(got) == 0 {
			t.Errorf("Search(%q) = nothing, want results", tt.text)
		}
		for _, id := range tt.wantNot {
			if slices.Contains(got, id) {
				t.Errorf("Search(%q) = %v, has the irrelevant %s", tt.text, got, id)
			}
		}
	}
}
