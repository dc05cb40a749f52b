package taxonomy

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/zengcheng-kexie/kepubot/configs"
)

// mustDefault returns the embedded taxonomy or stops the test.
func mustDefault(t testing.TB) *Taxonomy {
	t.Helper()
	tax, err := Default()
	if err != nil {
		t.Fatalf("Default() error: %v", err)
	}
	return tax
}

func TestDefaultHasFixedIDs(t *testing.T) {
	t.Parallel()
	tax := mustDefault(t)
	for _, id := range fixedGroups {
		if g, ok := tax.Group(id); !ok || g.Name == "" {
			t.Errorf("Group(%q) = %+v, %v, want a named group", id, g, ok)
		}
	}
	for _, id := range fixedTowns {
		if tw, ok := tax.Town(id); !ok || tw.Name == "" || tw.Short == "" {
			t.Errorf("Town(%q) = %+v, %v, want a town with name and short name", id, tw, ok)
		}
	}
	for _, id := range fixedTopics {
		if tp, ok := tax.Topic(id); !ok || tp.Name == "" || len(tp.Synonyms) == 0 {
			t.Errorf("Topic(%q) = %+v, %v, want a named topic with synonyms", id, tp, ok)
		}
	}
	for _, id := range []string{"", "nobody", "Farmer"} {
		if _, ok := tax.Group(id); ok {
			t.Errorf("Group(%q) found, want not found", id)
		}
	}
}

func TestDefaultTownsMatchDomain(t *testing.T) {
	t.Parallel()
	tax := mustDefault(t)
	want := map[string]string{
		"licheng": "荔城街道", "zengjiang": "增江街道", "zhucun": "朱村街道",
		"yongning": "永宁街道", "lihu": "荔湖街道", "ningxi": "宁西街道",
		"xintang": "新塘镇", "shitan": "石滩镇", "zhongxin": "中新镇", "zhengguo": "正果镇",
		"paitan": "派潭镇", "xiaolou": "小楼镇", "xiancun": "仙村镇",
	}
	kinds := map[string]int{}
	for _, tw := range tax.Towns {
		kinds[tw.Kind]++
		if got := tw.Name; got != want[tw.ID] {
			t.Errorf("town %q name = %q, want %q", tw.ID, got, want[tw.ID])
		}
		if !strings.HasSuffix(tw.Name, tw.Kind) || !strings.HasPrefix(tw.Name, tw.Short) {
			t.Errorf("town %q: name %q does not read short %q + kind %q", tw.ID, tw.Name, tw.Short, tw.Kind)
		}
	}
	if got := kinds; got[KindStreet] != 6 || got[KindTown] != 7 {
		t.Errorf("town kinds = %v, want 6 %s and 7 %s", got, KindStreet, KindTown)
	}
}

// The dashboard's coverage divides by these: every town has a population
// and together they make the district's ~1.47 million (2020 census).
func TestDefaultPopulations(t *testing.T) {
	t.Parallel()
	var sum int64
	for _, tw := range mustDefault(t).Towns {
		if tw.Population <= 0 {
			t.Errorf("town %q population = %d, want > 0", tw.ID, tw.Population)
		}
		sum += tw.Population
	}
	if sum < 1_400_000 || sum > 1_550_000 {
		t.Errorf("district population = %d, want about 1.47 million", sum)
	}
}

// The estimates agree with the 2020 census bulletin: one town over 300 k
// (新塘), one 200–300 k, four 100–200 k, seven under 100 k, the top five
// 67.93 % of the total, 正果 the smallest.
func TestPopulationsAgreeWithCensus(t *testing.T) {
	t.Parallel()
	towns := slices.Clone(mustDefault(t).Towns)
	slices.SortFunc(towns, func(a, b Town) int { return int(b.Population - a.Population) })
	var sum, top5 int64
	bands := map[string]int{}
	for i, tw := range towns {
		sum += tw.Population
		if i < 5 {
			top5 += tw.Population
		}
		switch p := tw.Population; {
		case p > 300_000:
			bands[">300k"]++
		case p >= 200_000:
			bands["200-300k"]++
		case p >= 100_000:
			bands["100-200k"]++
		default:
			bands["<100k"]++
		}
	}
	if want := map[string]int{">300k": 1, "200-300k": 1, "100-200k": 4, "<100k": 7}; !maps.Equal(bands, want) {
		t.Errorf("towns by size = %v, want %v", bands, want)
	}
	if towns[0].ID != "xintang" || towns[len(towns)-1].ID != "zhengguo" || towns[len(towns)-2].Population == towns[len(towns)-1].Population {
		t.Errorf("largest %s, smallest %s; want xintang and zhengguo alone", towns[0].ID, towns[len(towns)-1].ID)
	}
	if got := float64(top5) / float64(sum) * 100; math.Abs(got-67.93) > 0.005 {
		t.Errorf("top five = %.3f %% of the total, want 67.93 %%", got)
	}
}

func TestDefaultSuggestedTopics(t *testing.T) {
	t.Parallel()
	tax := mustDefault(t)
	for _, g := range tax.Groups {
		if n := len(g.Topics); n < 4 || n > 8 {
			t.Errorf("group %q suggests %d topics, want 4–8", g.ID, n)
		}
	}
	farmer := tax.SuggestedTopics("farmer")
	for _, id := range []string{"litchi", "rice", "vegetables", "weather"} {
		if !strings.Contains(strings.Join(farmer, " "), id) {
			t.Errorf("SuggestedTopics(farmer) = %v, want it to include %q", farmer, id)
		}
	}
	for _, id := range []string{"", "unknown"} {
		if got, want := tax.SuggestedTopics(id), tax.DefaultTopics; strings.Join(got, ",") != strings.Join(want, ",") || len(got) == 0 {
			t.Errorf("SuggestedTopics(%q) = %v, want the defaults %v", id, got, want)
		}
	}
	// The caller owns the slice.
	got := tax.SuggestedTopics("farmer")
	got[0] = "changed"
	if again := tax.SuggestedTopics("farmer"); again[0] == "changed" {
		t.Errorf("SuggestedTopics returned the taxonomy's own slice")
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	base := string(configs.Taxonomy)
	tests := []struct {
		name     string
		old, new string
		want     []string // substrings of the error
	}{
		{"unknown key", "  - id: litchi\n", "  - id: litchi\n    colour: red\n", []string{"colour"}},
		{"unknown top-level key", "groups:\n", "regions: []\ngroups:\n", []string{"regions"}},
		{"duplicate synonym", "synonyms: [天气预报,", "synonyms: [台风, 天气预报,", []string{`"weather"`, `"台风"`, `"disaster"`}},
		{"synonym equal to another name", "synonyms: [天气预报,", "synonyms: [荔枝, 天气预报,", []string{`"weather"`, `"荔枝"`, `"litchi"`}},
		{"synonym repeats own name", "synonyms: [增城荔枝,", "synonyms: [荔枝, 增城荔枝,", []string{`"litchi"`, `"荔枝"`, "twice"}},
		{"id used as another's synonym", "synonyms: [增城丝苗米,", "synonyms: [litchi, 增城丝苗米,", []string{`"rice"`, `"litchi"`}},
		{"missing fixed town", "id: paitan\n", "id: paitan_village\n", []string{`missing fixed id "paitan"`}},
		{"missing fixed topic", "id: anti_superstition\n", "id: anti_myth\n", []string{`missing fixed id "anti_superstition"`, `unknown topic "anti_superstition"`}},
		{"duplicate id", "id: xiancun\n", "id: xiaolou\n", []string{`duplicate id "xiaolou"`, `missing fixed id "xiancun"`}},
		{"bad id", "id: xiancun\n", "id: Xian-Cun\n", []string{`"Xian-Cun"`}},
		{"unknown suggested topic", "topics: [litchi, rice,", "topics: [lychee, rice,", []string{`"farmer"`, `"lychee"`}},
		{"too many suggestions", "topics: [litchi, rice,", "topics: [agriculture, energy, litchi, rice,", []string{`"farmer"`, "10 topics"}},
		{"empty default topics", "default_topics: [health, safety, food_safety, weather, disaster, environment, technology, anti_superstition]", "default_topics: []", []string{"default_topics: empty"}},
		{"latitude out of range", "lat: 23.5300", "lat: 32.5300", []string{`"paitan"`, "outside"}},
		{"missing longitude", "    lon: 113.7700\n", "", []string{`"paitan"`, "outside"}},
		{"shared centre", "lat: 23.1650\n    lon: 113.7060", "lat: 23.3800\n    lon: 113.8200", []string{`"xiancun"`, `"xiaolou"`}},
		{"negative population", "population: 52000\n", "population: -5\n", []string{`"paitan"`, "negative"}},
		{"bad kind", "kind: 镇\n    lat: 23.5300", "kind: 乡\n    lat: 23.5300", []string{`"paitan"`, `"乡"`}},
		{"numeric synonym", "synonyms: [白水寨,", "synonyms: [\"12\", 白水寨,", []string{`"paitan"`, `"12"`, "number"}},
		{"chinese numeric synonym", "synonyms: [白水寨,", "synonyms: [第三, 白水寨,", []string{`"paitan"`, `"第三"`, "number"}},
		{"punctuation in synonym", "synonyms: [白水寨,", "synonyms: [\"白水 寨\", 白水寨,", []string{`"paitan"`, `"白水 寨"`, "punctuation"}},
		{"missing name", "    name: 荔枝\n", "", []string{`"litchi"`, "missing name"}},
		{"not a list", "groups:\n", "groups: 5\ngroupz:\n", []string{"taxonomy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := strings.Replace(base, tt.old, tt.new, 1)
			if data == base {
				t.Fatalf("test edit %q not found in configs/taxonomy.yaml", tt.old)
			}
			got, err := Parse([]byte(data))
			if err == nil {
				t.Fatalf("Parse(%s) = %v, nil error; want an error", tt.name, got)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%s) error = %q, want it to mention %s", tt.name, err, w)
				}
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "# nothing\n", "groups: []\ntowns: []\ntopics: []\n"} {
		if got, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) = %v, nil error; want an error", in, got)
		}
	}
	two := string(configs.Taxonomy) + "\n---\ngroups: []\n"
	if _, err := Parse([]byte(two)); err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Errorf("Parse(two documents) error = %v, want more than one document", err)
	}
}

func TestZeroTaxonomyIsSafe(t *testing.T) {
	t.Parallel()
	var tax Taxonomy
	if _, ok := tax.MatchGroup("农民"); ok {
		t.Error("zero Taxonomy MatchGroup matched")
	}
	if _, ok := tax.MatchTown("1"); ok {
		t.Error("zero Taxonomy MatchTown matched")
	}
	if ids, unknown := tax.MatchTopics("1 荔枝", []string{"litchi"}); len(ids) != 1 || len(unknown) != 1 {
		t.Errorf("zero Taxonomy MatchTopics = %v, %v, want [litchi] [荔枝]", ids, unknown)
	}
	if got := tax.NearestTown(23.3, 113.8); got.ID != "" {
		t.Errorf("zero Taxonomy NearestTown = %q, want the zero town", got.ID)
	}
	if got := tax.FindTopics("荔枝"); got != nil {
		t.Errorf("zero Taxonomy FindTopics = %v, want nil", got)
	}
}
