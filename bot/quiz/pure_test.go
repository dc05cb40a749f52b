package quiz

import (
	"slices"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

func TestParseChoice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		multiple bool
		want     []int
	}{
		{"A", false, []int{0}}, {"b", false, []int{1}}, {"Ｃ", false, []int{2}}, {"４", false, []int{3}},
		{"1", false, []int{0}}, {" 选D。", false, []int{3}}, {"答案：B", false, []int{1}},
		{"AB", false, nil}, {"E", false, nil}, {"5", false, nil}, {"荔枝", false, nil}, {"", false, nil},
		{"CA", true, []int{0, 2}}, {"1 3", true, []int{0, 2}}, {"A、C、A", true, []int{0, 2}},
	}
	for _, tt := range tests {
		got, ok := parseChoice(tt.in, 4, tt.multiple)
		if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
			t.Errorf("parseChoice(%q, multiple=%v) = %v, %v; want %v", tt.in, tt.multiple, got, ok, tt.want)
		}
	}
}

func TestScoreEncoding(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		c  int
		ms int64
	}{{0, 0}, {10, 61_500}, {7, 599_999}, {100, 99_999_999}} {
		if c, ms := decodeScore(encodeScore(tt.c, tt.ms)); c != tt.c || ms != tt.ms {
			t.Errorf("decodeScore(encodeScore(%d, %d)) = %d, %d", tt.c, tt.ms, c, ms)
		}
	}
	if !(encodeScore(8, 90_000) > encodeScore(8, 91_000) && encodeScore(8, 91_000) > encodeScore(7, 1)) {
		t.Error("encoded scores do not order by correct answers, then less time")
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 9, 20, 9, 0, 0, 0, time.UTC)
	farmer := &profile.Profile{Group: "farmer", Town: "paitan", Subscribed: true, LastActiveAt: now,
		Interests: []profile.Interest{{Topic: "litchi", Weight: 200}}}
	tests := []struct {
		expr string
		want bool
	}{
		{"", true}, {"group:farmer", true}, {"group:youth", false},
		{"group:farmer & town:(paitan|zhengguo) & interest:litchi & !opted_out", true},
		{"town:派潭 & !interest:litchi", false}, {"group:youth | town:paitan", true},
		{"active:7d", true}, {"subscribed & !opted_out", true}, {"opted_out", false},
	}
	for _, tt := range tests {
		e, err := segment.Parse(tt.expr, tax)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.expr, err)
		}
		if got := Matches(e.Compile(now, time.UTC), farmer, time.UTC); got != tt.want {
			t.Errorf("Matches(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}
