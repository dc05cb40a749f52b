package configs

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/zengcheng-kexie/kepubot/content"
)

// The fixed ids of shared/DOMAIN.md, spelled out here on purpose: the
// samples must keep to them even if the taxonomy file grows.
var (
	fixedGroups = []string{"youth", "farmer", "worker", "official", "resident"}
	fixedTowns  = []string{
		"licheng", "zengjiang", "zhucun", "yongning", "lihu", "ningxi",
		"xintang", "shitan", "zhongxin", "zhengguo", "paitan", "xiaolou", "xiancun",
	}
	fixedTopics = []string{
		"agriculture", "litchi", "rice", "vegetables", "aquaculture", "livestock",
		"health", "mental_health", "safety", "disaster", "environment", "energy",
		"innovation", "technology", "food_safety", "weather", "stem", "anti_superstition",
	}
)

// decodeSample decodes samples/name strictly: an unknown or misspelt key
// fails, as it would in the importer.
func decodeSample(t *testing.T, name string, v any) {
	t.Helper()
	data, err := fs.ReadFile(Samples, "samples/"+name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func checkIDs(t *testing.T, where string, ids, allowed []string) {
	t.Helper()
	for _, id := range ids {
		if !slices.Contains(allowed, id) {
			t.Errorf("%s: unknown id %q", where, id)
		}
	}
}

func TestSampleItems(t *testing.T) {
	t.Parallel()
	var f struct {
		Items []content.Item `yaml:"items"`
	}
	decodeSample(t, "items.yaml", &f)
	if n := len(f.Items); n < 60 {
		t.Errorf("items.yaml has %d items, want at least 60", n)
	}

	seen := map[string]bool{}
	groups, topics := map[string]int{}, map[string]int{}
	for i, it := range f.Items {
		where := fmt.Sprintf("item %d (%s)", i, it.ExternalID)
		if !regexp.MustCompile(`^sample-[a-z_]+-\d{3}$`).MatchString(it.ExternalID) {
			t.Errorf("%s: external_id not like sample-<topic>-001", where)
		}
		if seen[it.ExternalID] {
			t.Errorf("%s: duplicate external_id", where)
		}
		seen[it.ExternalID] = true

		for _, c := range []struct {
			field    string
			val      string
			min, max int
		}{
			{"title", it.Title, 4, 30},
			{"summary", it.Summary, 15, 120},
			{"short", it.Short, 6, 40},
			{"body", it.Body, 80, 1200},
			{"source", it.Source, 2, 40},
			{"citation", it.Citation, 4, 120},
		} {
			if n := runes(strings.TrimSpace(c.val)); n < c.min || n > c.max {
				t.Errorf("%s: %s has %d characters, want %d–%d", where, c.field, n, c.min, c.max)
			}
		}
		if paras := len(strings.Split(strings.TrimSpace(it.Body), "\n\n")); paras < 2 || paras > 5 {
			t.Errorf("%s: body has %d paragraphs, want 2–5", where, paras)
		}
		if want := "https://kepu.example.org/a/" + it.ExternalID; it.URL != want {
			t.Errorf("%s: url = %q, want %q", where, it.URL, want)
		}
		if it.Author != "增城区科协" {
			t.Errorf("%s: author = %q, want 增城区科协", where, it.Author)
		}
		if it.Priority < 0 || it.Priority > 100 {
			t.Errorf("%s: priority %d outside 0–100", where, it.Priority)
		}
		if len(it.Topics) == 0 || len(it.Groups) == 0 {
			t.Errorf("%s: needs at least one topic and group", where)
		}
		checkIDs(t, where+" groups", it.Groups, fixedGroups)
		checkIDs(t, where+" towns", it.Towns, fixedTowns)
		checkIDs(t, where+" topics", it.Topics, fixedTopics)
		for _, m := range it.Season.Months {
			if m < 1 || m > 12 {
				t.Errorf("%s: season month %d", where, m)
			}
		}
		for _, g := range it.Groups {
			groups[g]++
		}
		for _, tp := range it.Topics {
			topics[tp]++
		}
	}
	for _, g := range fixedGroups {
		if groups[g] < 3 {
			t.Errorf("group %s has %d items, want at least 3", g, groups[g])
		}
	}
	for _, tp := range fixedTopics {
		if topics[tp] < 2 {
			t.Errorf("topic %s has %d items, want at least 2", tp, topics[tp])
		}
	}
}

func TestSampleQuestions(t *testing.T) {
	t.Parallel()
	var f struct {
		Questions []content.Question `yaml:"questions"`
	}
	decodeSample(t, "questions.yaml", &f)
	if n := len(f.Questions); n != 40 {
		t.Errorf("questions.yaml has %d questions, want 40", n)
	}
	seen := map[string]bool{}
	for i, q := range f.Questions {
		where := fmt.Sprintf("question %d (%s)", i, q.ExternalID)
		if !strings.HasPrefix(q.ExternalID, "sample-q-") || seen[q.ExternalID] {
			t.Errorf("%s: external_id missing, misnamed or duplicate", where)
		}
		seen[q.ExternalID] = true
		if runes(q.Stem) < 6 || runes(q.Stem) > 80 {
			t.Errorf("%s: stem has %d characters", where, runes(q.Stem))
		}
		if len(q.Options) < 3 || len(q.Options) > 4 {
			t.Errorf("%s: %d options, want 3–4", where, len(q.Options))
		}
		for j, o := range q.Options {
			if strings.TrimSpace(o) == "" || slices.Index(q.Options, o) != j {
				t.Errorf("%s: option %d empty or repeated", where, j)
			}
		}
		if len(q.Answer) == 0 || len(q.Answer) >= len(q.Options) {
			t.Errorf("%s: %d answers for %d options", where, len(q.Answer), len(q.Options))
		}
		for j, a := range q.Answer {
			if a < 0 || a >= len(q.Options) || slices.Index(q.Answer, a) != j {
				t.Errorf("%s: answer %d out of range or repeated", where, a)
			}
		}
		if runes(q.Explanation) < 10 || runes(q.Explanation) > 200 {
			t.Errorf("%s: explanation has %d characters", where, runes(q.Explanation))
		}
		if q.Difficulty < 1 || q.Difficulty > 5 {
			t.Errorf("%s: difficulty %d", where, q.Difficulty)
		}
		if q.Source == "" {
			t.Errorf("%s: no source", where)
		}
		checkIDs(t, where+" topic", []string{q.Topic}, fixedTopics)
		checkIDs(t, where+" groups", q.Groups, fixedGroups)
		checkIDs(t, where+" towns", q.Towns, fixedTowns)
		checkIDs(t, where+" topics", q.Topics, fixedTopics)
	}
}

func TestSampleEvents(t *testing.T) {
	t.Parallel()
	var f struct {
		Events       []content.Event       `yaml:"events"`
		Competitions []content.Competition `yaml:"competitions"`
	}
	decodeSample(t, "events.yaml", &f)
	if len(f.Events) != 4 || len(f.Competitions) != 3 {
		t.Fatalf("events.yaml has %d events and %d competitions, want 4 and 3", len(f.Events), len(f.Competitions))
	}
	cst := time.FixedZone("CST", 8*3600)
	codes := map[string]bool{}
	for _, e := range f.Events {
		where := "event " + e.Code
		if e.Code == "" || codes[e.Code] || e.Title == "" || e.Description == "" || e.Venue == "" {
			t.Errorf("%s: code, title, description or venue missing or duplicate", where)
		}
		codes[e.Code] = true
		checkIDs(t, where+" town", []string{e.Town}, fixedTowns)
		if e.Capacity <= 0 {
			t.Errorf("%s: capacity %d", where, e.Capacity)
		}
		if !slices.Equal(e.Reminders, []string{"24h", "1h"}) {
			t.Errorf("%s: reminders = %v, want [24h 1h]", where, e.Reminders)
		}
		for _, tm := range []time.Time{e.StartsAt, e.EndsAt, e.SignupOpens, e.SignupCloses} {
			if _, off := tm.Zone(); off != 8*3600 {
				t.Errorf("%s: time %v not in +08:00", where, tm)
			}
		}
		if !e.SignupOpens.Before(e.SignupCloses) || e.SignupCloses.After(e.StartsAt) || !e.StartsAt.Before(e.EndsAt) {
			t.Errorf("%s: times out of order", where)
		}
	}
	titles := map[string]time.Time{}
	for _, e := range f.Events {
		for _, key := range []string{"全国科普日", "科技活动周", "科普大讲坛", "三下乡"} {
			if strings.Contains(e.Title, key) {
				titles[key] = e.StartsAt.In(cst)
			}
		}
	}
	if d, ok := titles["全国科普日"]; !ok || d.Month() != time.September || d.Day() < 15 || d.Day() > 21 {
		t.Errorf("全国科普日 starts %v, want the third week of September", d)
	}
	if d, ok := titles["科技活动周"]; !ok || d.Month() != time.May {
		t.Errorf("科技活动周 starts %v, want May", d)
	}
	if len(titles) != 4 {
		t.Errorf("events cover %d of 全国科普日, 科技活动周, 科普大讲坛, 三下乡", len(titles))
	}

	for _, c := range f.Competitions {
		where := "competition " + c.Code
		if c.Code == "" || codes[c.Code] || c.Title == "" {
			t.Errorf("%s: code or title missing or duplicate", where)
		}
		codes[c.Code] = true
		if c.QuestionCount <= 0 || c.QuestionCount > 40 || c.PassMark <= 0 || c.PassMark > c.QuestionCount ||
			c.TimeLimitSeconds <= 0 || c.Attempts <= 0 || !c.StartsAt.Before(c.EndsAt) {
			t.Errorf("%s: bad numbers or window: %+v", where, c)
		}
		if c.Audience != "" && !regexp.MustCompile(`^(group|town|topic):[a-z_]+$`).MatchString(c.Audience) {
			t.Errorf("%s: audience %q is not a simple segment expression", where, c.Audience)
		}
	}
	all := f.Competitions[0].Title + f.Competitions[1].Title + f.Competitions[2].Title
	if !strings.Contains(all, "公民科学素质知识竞赛") || !strings.Contains(all, "农村居民科学素质竞赛") || !strings.Contains(all, "科技活动周") {
		t.Errorf("competitions are not the plan's two quizzes and the Science and Technology Week quiz")
	}
}

// TestSampleURLs checks that no sample links to a real host: the samples
// are fiction-free but their articles do not exist yet.
func TestSampleURLs(t *testing.T) {
	t.Parallel()
	urlRE := regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'，。；）)]+|www\.[^\s"'，。；）)]+`)
	err := fs.WalkDir(Samples, "samples", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(Samples, path)
		if err != nil {
			return err
		}
		for _, raw := range urlRE.FindAllString(string(data), -1) {
			u, err := url.Parse(raw)
			if err != nil || u.Scheme != "https" || u.Host != "kepu.example.org" {
				t.Errorf("%s: link %q points outside https://kepu.example.org", path, raw)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
