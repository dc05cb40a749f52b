package taxonomy

import (
	"math"
	"slices"
	"strconv"
	"testing"
)

func TestMatchGroup(t *testing.T) {
	t.Parallel()
	tax := mustDefault(t)
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"农民", "farmer", true},
		{" 农民。", "farmer", true},
		{"种田", "farmer", true},
		{"果农", "farmer", true},
		{"我是农民", "farmer", true},
		{"农民工", "worker", true}, // longest name wins over 农民
		{"打工", "worker", true},
		{"学生", "youth", true},
		{"青少年学生", "youth", true},
		{"公务员", "official", true},
		{"退休", "resident", true},
		{"居民", "resident", true},
		{"FARMER", "farmer", true},
		{"1", "youth", true},
		{"２", "farmer", true},
		{"第二", "farmer", true},
		{"五", "resident", true},
		{"6", "", false},
		{"0", "", false},
		{"", "", false},
		{"。，", "", false},
		{"胡说八道", "", false},
		{"退休干部", "", false}, // two groups named: ambiguous
		{"iamafarmer", "", false},
	}
	for _, tt := range tests {
		g, ok := tax.MatchGroup(tt.in)
		if g.ID != tt.want || ok != tt.wantOK {
			t.Errorf("MatchGroup(%q) = %q, %v, want %q, %v", tt.in, g.ID, ok, tt.want, tt.wantOK)
		}
	}
}

func TestMatchTown(t *testing.T) {
	t.Parallel()
	tax := mustDefault(t)
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"派潭镇", "paitan", true},
		{"派潭", "paitan", true},
		{"派潭 镇", "paitan", true},
		{"paitan", "paitan", true},
		{"我在派潭镇", "paitan", true},
		{"我住派潭", "paitan", true},
		{"白水寨", "paitan", true},
		{"荔城街道", "licheng", true},
		{"荔城", "licheng", true},
		{"荔湖街道", "lihu", true},
		{"新塘镇。", "xintang", true},
		{"1", "licheng", true},
		{"7", "xintang", true},
		{"１２", "xiaolou", true}, // full-width 12
		{"12", "xiaolou", true},
		{"13", "xiancun", true},
		{"十三", "xiancun", true},
		{"14", "", false},
		{"增城", "", false},
		{"新塘还是荔城", "", false}, // two towns: ambiguous
		{"胡说八道", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		tw, ok := tax.MatchTown(tt.in)
		if tw.ID != tt.want || ok != tt.wantOK {
			t.Errorf("MatchTown(%q) = %q, %v, want %q, %v", tt.in, tw.ID, ok, tt.want, tt.wantOK)
		}
	}
	// Every town answers to its full name, short name, synonyms, id and number.
	for i, tw := range tax.Towns {
		for _, in := range append([]string{tw.Name, tw.Short, tw.ID, strconv.Itoa(i + 1)}, tw.Synonyms...) {
			if got, ok := tax.MatchTown(in); !ok || got.ID != tw.ID {
				t.Errorf("MatchTown(%q) = %q, %v, want %q", in, got.ID, ok, tw.ID)
			}
		}
	}
}

func TestMatchTopics(t *testing.T) {
	t.Parallel()
	tax := mustDefault(t)
	farmer := tax.SuggestedTopics("farmer") // litchi, rice, vegetables, ...
	long := []string{"agriculture", "litchi", "rice", "vegetables", "aquaculture", "livestock",
		"health", "mental_health", "safety", "disaster", "environment", "energy", "innovation"}
	tests := []struct {
		in          string
		offered     []string
		want        []string
		wantUnknown []string
	}{
		{"荔枝 气象", farmer, []string{"litchi", "weather"}, nil},
		{"荔枝，天气。", farmer, []string{"litchi", "weather"}, nil},
		{"1、3", farmer, []string{"litchi", "vegetables"}, nil},
		{"1,3;2", farmer, []string{"litchi", "vegetables", "rice"}, nil},
		{"１　３", farmer, []string{"litchi", "vegetables"}, nil},
		{"13", farmer, []string{"litchi", "vegetables"}, nil},
		{"131", farmer, []string{"litchi", "vegetables"}, nil},
		{"13", long, []string{"innovation"}, nil},
		{"14", long, nil, []string{"14"}},
		{"9", farmer, nil, []string{"9"}},
		{"19", farmer, nil, []string{"19"}},
		{"0", farmer, nil, []string{"0"}},
		{"一 三", farmer, []string{"litchi", "vegetables"}, nil},
		{"荔枝 1", farmer, []string{"litchi"}, nil},
		{"荔枝 乱码 ABC", farmer, []string{"litchi"}, []string{"乱码", "ABC"}},
		{"荔枝和天气", farmer, []string{"litchi", "weather"}, nil},
		{"台风 丝苗米 养鱼", nil, []string{"disaster", "rice", "aquaculture"}, nil},
		{"食品安全", nil, []string{"food_safety"}, nil},
		{"心理健康", nil, []string{"mental_health"}, nil},
		{"food_safety STEM ai", nil, []string{"food_safety", "stem", "technology"}, nil},
		{"1", nil, nil, []string{"1"}},
		{"", farmer, nil, nil},
		{"  ，。 ", farmer, nil, nil},
	}
	for _, tt := range tests {
		ids, unknown := tax.MatchTopics(tt.in, tt.offered)
		if !slices.Equal(ids, tt.want) || !slices.Equal(unknown, tt.wantUnknown) {
			t.Errorf("MatchTopics(%q, %v) = %q, %q, want %q, %q", tt.in, tt.offered, ids, unknown, tt.want, tt.wantUnknown)
		}
	}
	// Every topic answers to each of its names.
	for _, tp := range tax.Topics {
		for _, in := range append([]string{tp.Name, tp.Short, tp.ID}, tp.Synonyms...) {
			if in == "" {
				continue
			}
			if ids, unknown := tax.MatchTopics(in, nil); !slices.Equal(ids, []string{tp.ID}) || unknown != nil {
				t.Errorf("MatchTopics(%q) = %q, %q, want [%s]", in, ids, unknown, tp.ID)
			}
		}
	}
}

func TestFindTopics(t *testing.T) {
	t.Parallel()
	tax := mustDefault(t)
	tests := []struct {
		in   string
		want []string
	}{
		{"台风来了，荔枝园要做好排水", []string{"disaster", "litchi"}},
		{"食品安全知识", []string{"food_safety"}},
		{"注意用电安全和食品安全", []string{"safety", "food_safety"}},
		{"青少年心理健康讲座", []string{"mental_health"}},
		{"rain and wait", nil},
		{"AI 与 5G 的新技术", []string{"technology"}},
		{"今天吃什么", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := tax.FindTopics(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("FindTopics(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNearestTown(t *testing.T) {
	t.Parallel()
	tax := mustDefault(t)
	// Each centre, and points half a kilometre off it, map to that town.
	for _, tw := range tax.Towns {
		for _, d := range [][2]float64{{0, 0}, {0.005, 0}, {-0.005, 0}, {0, 0.005}, {0, -0.005}} {
			if got := tax.NearestTown(tw.Lat+d[0], tw.Lon+d[1]); got.ID != tw.ID {
				t.Errorf("NearestTown(%v, %v) = %q, want %q", tw.Lat+d[0], tw.Lon+d[1], got.ID, tw.ID)
			}
		}
	}
	tests := []struct {
		name     string
		lat, lon float64
		want     string
	}{
		{"白水寨 scenic area", 23.565, 113.755, "paitan"},
		{"north edge of the district", 23.61, 113.80, "paitan"},
		{"新塘 riverside, south-west", 23.11, 113.60, "xintang"},
		{"east of 正果", 23.45, 113.98, "zhengguo"},
		{"增城广场 area", 23.29, 113.82, "licheng"},
		{"between 小楼 and 派潭, nearer 小楼", 23.40, 113.81, "xiaolou"},
		{"Beijing still has a nearest town", 39.9, 116.4, "paitan"},
	}
	for _, tt := range tests {
		if got := tax.NearestTown(tt.lat, tt.lon); got.ID != tt.want {
			t.Errorf("NearestTown(%v, %v) [%s] = %q, want %q", tt.lat, tt.lon, tt.name, got.ID, tt.want)
		}
	}
	if got := tax.NearestTown(math.NaN(), math.Inf(1)); got.ID == "" {
		t.Errorf("NearestTown(NaN, Inf) = zero town, want some town")
	}
}

func TestKm(t *testing.T) {
	t.Parallel()
	// 新塘 to 派潭 is about 46 km as the crow flies.
	if got := km(23.13, 113.61, 23.53, 113.77); got < 44 || got > 49 {
		t.Errorf("km(新塘, 派潭) = %.1f, want about 47", got)
	}
	if got := km(23.3, 113.8, 23.3, 113.8); got != 0 {
		t.Errorf("km(same point) = %v, want 0", got)
	}
}

func TestParseNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{"1", 1}, {"12", 12}, {"007", 7}, {"1234", 0}, {"0", 0}, {"1a", 0},
		{"一", 1}, {"十", 10}, {"十三", 13}, {"二十", 20}, {"九十九", 99}, {"十十", 0},
		{"第3", 3}, {"3号", 3}, {"第三个", 3}, {"第", 0}, {"荔枝", 0}, {"", 0},
	}
	for _, tt := range tests {
		if got := parseNumber(tt.in); got != tt.want {
			t.Errorf("parseNumber(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"农民", "我在派潭镇", "１２", "1、3", "13", "荔枝 气象", "第十三个",
		"食品安全", "AI5G", "\xff\xfe", "　，。", "food_safety", "九十九"} {
		f.Add(s, uint8(8), 23.3, 113.8)
	}
	tax := mustDefault(f)
	f.Fuzz(func(t *testing.T, text string, n uint8, lat, lon float64) {
		offered := tax.Topics[:int(n)%(len(tax.Topics)+1)]
		ids := make([]string, len(offered))
		for i, tp := range offered {
			ids[i] = tp.ID
		}
		if g, ok := tax.MatchGroup(text); ok {
			if _, known := tax.Group(g.ID); !known {
				t.Errorf("MatchGroup(%q) = unknown group %q", text, g.ID)
			}
		}
		if tw, ok := tax.MatchTown(text); ok {
			if _, known := tax.Town(tw.ID); !known {
				t.Errorf("MatchTown(%q) = unknown town %q", text, tw.ID)
			}
		}
		got, unknown := tax.MatchTopics(text, ids)
		for _, id := range got {
			if _, known := tax.Topic(id); !known {
				t.Errorf("MatchTopics(%q) = unknown topic %q", text, id)
			}
		}
		if len(got) != len(slices.Compact(slices.Sorted(slices.Values(got)))) {
			t.Errorf("MatchTopics(%q) = %q, has duplicates", text, got)
		}
		for _, u := range unknown {
			if u == "" {
				t.Errorf("MatchTopics(%q) reported an empty unknown word", text)
			}
		}
		for _, id := range tax.FindTopics(text) {
			if _, known := tax.Topic(id); !known {
				t.Errorf("FindTopics(%q) = unknown topic %q", text, id)
			}
		}
		if tw := tax.NearestTown(lat, lon); tw.ID == "" {
			t.Errorf("NearestTown(%v, %v) = zero town", lat, lon)
		}
	})
}

func BenchmarkMatchTopics(b *testing.B) {
	tax := mustDefault(b)
	offered := tax.SuggestedTopics("farmer")
	for b.Loop() {
		tax.MatchTopics("荔枝 气象、1，3 台风来了怎么办", offered)
	}
}

func BenchmarkFindTopics(b *testing.B) {
	tax := mustDefault(b)
	text := "台风即将登陆，请果农做好荔枝园排水，养殖户检查鱼塘增氧设备，注意用电安全和食品安全。"
	for b.Loop() {
		tax.FindTopics(text)
	}
}
