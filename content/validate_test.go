package content

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// fixedVocab knows the fixed ids of shared/DOMAIN.md.
type fixedVocab struct{}

func (fixedVocab) ValidGroup(id string) bool {
	return slices.Contains([]string{"youth", "farmer", "worker", "official", "resident"}, id)
}

func (fixedVocab) ValidTown(id string) bool {
	return slices.Contains([]string{"licheng", "zengjiang", "zhucun", "yongning", "lihu", "ningxi",
		"xintang", "shitan", "zhongxin", "zhengguo", "paitan", "xiaolou", "xiancun"}, id)
}

func (fixedVocab) ValidTopic(id string) bool {
	return slices.Contains([]string{"agriculture", "litchi", "rice", "vegetables", "aquaculture", "livestock",
		"health", "mental_health", "safety", "disaster", "environment", "energy",
		"innovation", "technology", "food_safety", "weather", "stem", "anti_superstition"}, id)
}

func goodItem() Item {
	return Item{
		Title: "荔枝花期管理要点", Summary: "花期不要喷杀虫剂，放蜂帮助授粉。",
		URL: "https://kepu.example.org/a/1", Source: "广东省农业农村厅", Priority: 50,
		Audience: Audience{Groups: []string{"farmer"}, Towns: []string{"paitan"}, Topics: []string{"litchi"}},
		Season:   Season{Months: []int{2, 3}, SolarTerms: []string{"惊蛰"}},
	}
}

func TestItemValidate(t *testing.T) {
	t.Parallel()
	day := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		edit   func(*Item)
		fields []string
	}{
		{"valid", func(*Item) {}, nil},
		{"no title", func(it *Item) { it.Title = "  " }, []string{"title"}},
		{"long title", func(it *Item) { it.Title = strings.Repeat("荔", MaxTitle+1) }, []string{"title"}},
		{"title at limit", func(it *Item) { it.Title = strings.Repeat("荔", MaxTitle) }, nil},
		{"no summary", func(it *Item) { it.Summary = "" }, []string{"summary"}},
		{"long summary", func(it *Item) { it.Summary = strings.Repeat("字", MaxSummary+1) }, []string{"summary"}},
		{"relative url", func(it *Item) { it.URL = "/a/1" }, []string{"url"}},
		{"ftp url", func(it *Item) { it.URL = "ftp://x.org/a" }, []string{"url"}},
		{"no url", func(it *Item) { it.URL = "" }, []string{"url"}},
		{"bad cover", func(it *Item) { it.CoverURL = "cover.png" }, []string{"cover_url"}},
		{"unknown ids", func(it *Item) {
			it.Groups, it.Towns, it.Topics = []string{"pirate"}, []string{"paris"}, []string{"litchi", "magic"}
		}, []string{"groups", "towns", "topics"}},
		{"duplicate topic", func(it *Item) { it.Topics = []string{"litchi", "litchi"} }, []string{"topics"}},
		{"empty audience", func(it *Item) { it.Audience = Audience{} }, nil},
		{"month 13", func(it *Item) { it.Season.Months = []int{0, 13} }, []string{"season.months"}},
		{"bad solar term", func(it *Item) { it.Season.SolarTerms = []string{"春节"} }, []string{"season.solar_terms"}},
		{"until before from", func(it *Item) { it.ValidFrom, it.ValidUntil = day, day.Add(-time.Hour) }, []string{"valid_until"}},
		{"until equals from", func(it *Item) { it.ValidFrom, it.ValidUntil = day, day }, []string{"valid_until"}},
		{"only until", func(it *Item) { it.ValidUntil = day }, nil},
		{"priority 101", func(it *Item) { it.Priority = 101 }, []string{"priority"}},
		{"priority -1", func(it *Item) { it.Priority = -1 }, []string{"priority"}},
		{"no source", func(it *Item) { it.Source = "" }, []string{"source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			it := goodItem()
			tt.edit(&it)
			checkFields(t, it.Validate(fixedVocab{}), tt.fields)
		})
	}
}

func checkFields(t *testing.T, got map[string]string, want []string) {
	t.Helper()
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("Validate() = %v, want errors for %v", got, want)
	}
}

func TestQuestionValidate(t *testing.T) {
	t.Parallel()
	good := func() Question {
		return Question{Stem: "荔枝开花期为什么不宜喷杀虫剂？", Options: []string{"伤害蜜蜂", "花会变色", "没有害虫"},
			Answer: []int{0}, Topic: "litchi", Difficulty: 2}
	}
	tests := []struct {
		name   string
		edit   func(*Question)
		fields []string
	}{
		{"valid", func(*Question) {}, nil},
		{"multiple choice", func(q *Question) { q.Answer = []int{0, 2} }, nil},
		{"no stem", func(q *Question) { q.Stem = "" }, []string{"stem"}},
		{"one option", func(q *Question) { q.Options, q.Answer = []string{"a"}, []int{0} }, []string{"options"}},
		{"seven options", func(q *Question) { q.Options = []string{"a", "b", "c", "d", "e", "f", "g"} }, []string{"options"}},
		{"empty option", func(q *Question) { q.Options[1] = " " }, []string{"options"}},
		{"repeated option", func(q *Question) { q.Options[1] = q.Options[0] }, []string{"options"}},
		{"no answer", func(q *Question) { q.Answer = nil }, []string{"answer"}},
		{"answer out of range", func(q *Question) { q.Answer = []int{3} }, []string{"answer"}},
		{"negative answer", func(q *Question) { q.Answer = []int{-1} }, []string{"answer"}},
		{"repeated answer", func(q *Question) { q.Answer = []int{1, 1} }, []string{"answer"}},
		{"no topic", func(q *Question) { q.Topic = "" }, []string{"topic"}},
		{"unknown topic", func(q *Question) { q.Topic = "magic" }, []string{"topic"}},
		{"difficulty 0", func(q *Question) { q.Difficulty = 0 }, []string{"difficulty"}},
		{"difficulty 6", func(q *Question) { q.Difficulty = 6 }, []string{"difficulty"}},
		{"unknown group", func(q *Question) { q.Groups = []string{"pirate"} }, []string{"groups"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := good()
			tt.edit(&q)
			checkFields(t, q.Validate(fixedVocab{}), tt.fields)
		})
	}
}

func TestCompetitionValidate(t *testing.T) {
	t.Parallel()
	start := time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC)
	good := func() Competition {
		return Competition{Title: "公民科学素质知识竞赛", StartsAt: start, EndsAt: start.AddDate(0, 0, 30),
			QuestionCount: 10, TimeLimitSeconds: 30, PassMark: 6, Attempts: 2, Code: "KX2027"}
	}
	tests := []struct {
		name   string
		edit   func(*Competition)
		fields []string
	}{
		{"valid", func(*Competition) {}, nil},
		{"no code", func(c *Competition) { c.Code = "" }, nil},
		{"question ids", func(c *Competition) { c.QuestionCount, c.QuestionIDs, c.PassMark = 0, []string{"q_1", "q_2"}, 2 }, nil},
		{"ids and count disagree", func(c *Competition) { c.QuestionIDs, c.PassMark = []string{"q_1"}, 1 }, []string{"question_count"}},
		{"repeated id", func(c *Competition) { c.QuestionCount, c.QuestionIDs, c.PassMark = 0, []string{"q_1", "q_1"}, 1 }, []string{"question_ids"}},
		{"no questions", func(c *Competition) { c.QuestionCount, c.PassMark = 0, 0 }, []string{"question_count"}},
		{"no title", func(c *Competition) { c.Title = "" }, []string{"title"}},
		{"no window", func(c *Competition) { c.StartsAt, c.EndsAt = time.Time{}, time.Time{} }, []string{"starts_at", "ends_at"}},
		{"ends before start", func(c *Competition) { c.EndsAt = start.Add(-time.Hour) }, []string{"ends_at"}},
		{"time limit 4", func(c *Competition) { c.TimeLimitSeconds = 4 }, []string{"time_limit_seconds"}},
		{"time limit 601", func(c *Competition) { c.TimeLimitSeconds = 601 }, []string{"time_limit_seconds"}},
		{"pass mark above count", func(c *Competition) { c.PassMark = 11 }, []string{"pass_mark"}},
		{"no attempts", func(c *Competition) { c.Attempts = 0 }, []string{"attempts"}},
		{"short code", func(c *Competition) { c.Code = "K" }, []string{"code"}},
		{"code with dash", func(c *Competition) { c.Code = "KX-27" }, []string{"code"}},
		{"long code", func(c *Competition) { c.Code = strings.Repeat("K", 17) }, []string{"code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := good()
			tt.edit(&c)
			checkFields(t, c.Validate(fixedVocab{}), tt.fields)
		})
	}
}

func TestEventValidate(t *testing.T) {
	t.Parallel()
	start := time.Date(2027, 9, 18, 9, 0, 0, 0, time.UTC)
	good := func() Event {
		return Event{Title: "全国科普日", StartsAt: start, EndsAt: start.Add(8 * time.Hour), Town: "licheng",
			Capacity: 100, Code: "KPR2027", Reminders: []string{"24h", "1h"},
			SignupOpens: start.AddDate(0, 0, -14), SignupCloses: start.Add(-time.Hour)}
	}
	tests := []struct {
		name   string
		edit   func(*Event)
		fields []string
	}{
		{"valid", func(*Event) {}, nil},
		{"no signup window", func(e *Event) { e.SignupOpens, e.SignupCloses = time.Time{}, time.Time{} }, nil},
		{"no title", func(e *Event) { e.Title = "" }, []string{"title"}},
		{"no window", func(e *Event) { e.StartsAt, e.EndsAt = time.Time{}, time.Time{} },
			[]string{"starts_at", "ends_at"}},
		{"no town", func(e *Event) { e.Town = "" }, []string{"town"}},
		{"unknown town", func(e *Event) { e.Town = "paris" }, []string{"town"}},
		{"no capacity", func(e *Event) { e.Capacity = 0 }, []string{"capacity"}},
		{"bad code", func(e *Event) { e.Code = "报名" }, []string{"code"}},
		{"bad reminder", func(e *Event) { e.Reminders = []string{"1 day"} }, []string{"reminders"}},
		{"negative reminder", func(e *Event) { e.Reminders = []string{"-1h"} }, []string{"reminders"}},
		{"signup closes before it opens", func(e *Event) { e.SignupCloses = e.SignupOpens.Add(-time.Hour) }, []string{"signup_closes"}},
		{"signup opens after start", func(e *Event) { e.SignupOpens, e.SignupCloses = start.Add(time.Hour), start.Add(2*time.Hour) }, []string{"signup_opens"}},
		{"signup closes after end", func(e *Event) { e.SignupCloses = start.Add(9 * time.Hour) }, []string{"signup_closes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := good()
			tt.edit(&e)
			checkFields(t, e.Validate(fixedVocab{}), tt.fields)
		})
	}
}
