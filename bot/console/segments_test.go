package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/profile/profiletest"
	"github.com/zengcheng-kexie/kepubot/content/segment"
)

// countJSON reads the live count endpoint's answer.
func countJSON(t *testing.T, r response) audienceCount {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("count answered %d %q, want JSON:\n%s", r.StatusCode, ct, r.body)
	}
	var ac audienceCount
	if err := json.Unmarshal([]byte(r.body), &ac); err != nil {
		t.Fatalf("count answer %q: %v", r.body, err)
	}
	return ac
}

// wantCount is profile.Count of expr's audience, as the API would count it.
func (b *bundle) wantCount(t *testing.T, expr string) int64 {
	t.Helper()
	e, err := segment.Parse(expr, b.tax)
	if err != nil {
		t.Fatal(err)
	}
	n, err := b.profiles.Count(b.ctx, "default", segment.Audience(e.Compile(b.now, time.UTC)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n.Total
}

func TestSegmentLiveCount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	profiletest.Populate(t, b.ctx, b.profiles, "default", 3000)
	br := b.browser(t)
	br.mustLogin("viewer-user")

	for _, tc := range []struct {
		name    string
		query   url.Values
		expr    string // the same audience in the segment language
		nonZero bool
	}{
		{"pickers", url.Values{"group": {"farmer"}, "town": {"paitan"}}, "group:farmer & town:paitan", true},
		{"pickers with several values", url.Values{"group": {"farmer", "worker"}, "town": {"xintang", "paitan"}, "interest": {"litchi"}},
			"group:(farmer|worker) & town:(xintang|paitan) & interest:litchi", true},
		{"expression in Chinese", url.Values{"expr": {"group:农民 & town:派潭 & interest:荔枝"}}, "group:farmer & town:paitan & interest:litchi", true},
		{"pickers and expression", url.Values{"town": {"xintang"}, "expr": {"!group:farmer"}}, "town:xintang & !group:farmer", true},
		{"active", url.Values{"group": {"youth"}, "active": {"30"}}, "group:youth & active:30d", false},
		{"everyone", url.Values{}, "", true},
	} {
		r := br.do("GET", "/console/segments/count?"+tc.query.Encode(), nil)
		ac := countJSON(t, r)
		want := b.wantCount(t, tc.expr)
		if r.StatusCode != http.StatusOK || ac.Error != "" || ac.Count != want {
			t.Errorf("%s: count = %d %d %q, want 200 %d", tc.name, r.StatusCode, ac.Count, ac.Error, want)
		}
		if tc.nonZero && want == 0 {
			t.Errorf("%s: the generated district has nobody in %q; the test proves nothing", tc.name, tc.expr)
		}
		var byTown int64
		for _, row := range ac.Towns {
			byTown += row.Count
		}
		if byTown != ac.Count {
			t.Errorf("%s: towns add up to %d, want %d", tc.name, byTown, ac.Count)
		}
	}

	// Without JavaScript: 预览 submits the form and the page shows the count.
	want := b.wantCount(t, "group:farmer & town:paitan")
	page := br.do("GET", "/console/segments?group=farmer&town=paitan&expr=", nil)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, `<span class="big">`+formatNum(want)+`</span>`) {
		t.Errorf("GET /console/segments?group=farmer&town=paitan = %d, want the count %d:\n%s", page.StatusCode, want, page.body)
	}
	for _, want := range []string{`value="farmer" checked`, `value="paitan" checked`, "派潭镇", `src="/console/static/segments.js"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("builder page lacks %q", want)
		}
	}
	if r := br.do("GET", "/console/static/segments.js", nil); r.StatusCode != http.StatusOK {
		t.Errorf("GET segments.js = %d, want 200", r.StatusCode)
	}
}

func TestSegmentBadExpression(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	br.mustLogin("organizer-user")

	for _, tc := range []struct {
		expr    string
		pos     int
		wantMsg string
	}{
		{"group:farmer & town:patan", 20, "没有这个镇街"},
		{"group:farmer &", 14, "还缺少一个条件"},
		{"group:农民 & (town:派潭", 19, "缺少右括号"},
		{"farmer", 0, "group:farmer"},
	} {
		r := br.do("GET", "/console/segments/count?"+url.Values{"expr": {tc.expr}}.Encode(), nil)
		ac := countJSON(t, r)
		if r.StatusCode != http.StatusBadRequest || !ac.HasPos || ac.Position != tc.pos || !strings.Contains(ac.Error, tc.wantMsg) {
			t.Errorf("count %q = %d %+v, want 400 at %d saying %q", tc.expr, r.StatusCode, ac, tc.pos, tc.wantMsg)
		}
		if got := ac.Before + ac.At + ac.After; got != tc.expr || len([]rune(ac.Before)) != tc.pos {
			t.Errorf("count %q: marked as %q|%q|%q, want the mark at %d", tc.expr, ac.Before, ac.At, ac.After, tc.pos)
		}
	}

	// The page (no JavaScript) marks the position too.
	page := br.do("GET", "/console/segments?"+url.Values{"expr": {"group:farmer & town:patan"}}.Encode(), nil)
	if !strings.Contains(page.body, "第 21 个字处：没有这个镇街") || !strings.Contains(page.body, "<mark>p</mark>atan") ||
		!strings.Contains(page.body, "paitan（派潭镇）") {
		t.Errorf("builder page with a bad expression does not explain it in Chinese with a mark:\n%s", page.body)
	}

	// Saving it saves nothing.
	form := url.Values{"csrf": {br.csrf(page.body)}, "name": {"bad-one"}, "group": {"farmer"}, "expr": {"town:patan"}}
	r := br.do("POST", "/console/segments", form)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "没有这个镇街") || !strings.Contains(r.body, "<mark>") {
		t.Errorf("save a bad expression = %d, want 400 explaining it:\n%s", r.StatusCode, r.body)
	}
	if list, err := segment.NewStore(b.rdb, b.tax).List(b.ctx, "default"); err != nil || len(list) != 0 {
		t.Errorf("saved segments after a refused save = %v, %v; want none", list, err)
	}
}

func TestSegmentSaveAndDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	store := segment.NewStore(b.rdb, b.tax)
	if _, err := b.profiles.Import(b.ctx, "default", []*profile.Profile{
		{OpenID: "oSeg00000000000000000000001", Group: "farmer", Town: "paitan", Subscribed: true, CreatedAt: b.now},
		{OpenID: "oSeg00000000000000000000002", Group: "farmer", Town: "paitan", Subscribed: true, CreatedAt: b.now},
		{OpenID: "oSeg00000000000000000000003", Group: "worker", Town: "paitan", Subscribed: true, CreatedAt: b.now},
	}); err != nil {
		t.Fatal(err)
	}

	// A viewer sees the builder without the save form, and cannot save.
	viewer := b.browser(t)
	vpage := viewer.mustLogin("viewer-user")
	if p := viewer.do("GET", "/console/segments", nil); p.StatusCode != http.StatusOK || strings.Contains(p.body, "保存当前条件") {
		t.Errorf("viewer's builder = %d, want 200 without the save form", p.StatusCode)
	}
	form := url.Values{"csrf": {viewer.csrf(vpage)}, "name": {"paitan-farmers"}, "group": {"farmer"}, "town": {"paitan"}}
	if r := viewer.do("POST", "/console/segments", form); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer saves a segment: %d, want 403", r.StatusCode)
	}

	org := b.browser(t)
	page := org.mustLogin("organizer-user")
	// Without the CSRF token: refused.
	form.Del("csrf")
	if r := org.do("POST", "/console/segments", form); r.StatusCode != http.StatusForbidden {
		t.Errorf("save without csrf: %d, want 403", r.StatusCode)
	}
	if list, _ := store.List(b.ctx, "default"); len(list) != 0 {
		t.Fatalf("refused saves saved %v", list)
	}

	form.Set("csrf", org.csrf(page))
	r := org.do("POST", "/console/segments", form)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("organizer saves a segment: %d, want 303:\n%s", r.StatusCode, r.body)
	}
	saved, err := store.Get(b.ctx, "default", "paitan-farmers")
	if err != nil || saved.Expr != "group:farmer & town:paitan" || saved.CreatedBy != b.users[admin.RoleOrganizer].ID {
		t.Fatalf("saved = %+v, %v; want group:farmer & town:paitan by the organizer", saved, err)
	}
	list := org.do("GET", r.Header.Get("Location"), nil)
	if !strings.Contains(list.body, "已保存受众 paitan-farmers") ||
		!strings.Contains(list.body, "<td><code>paitan-farmers</code></td>\n    <td class=\"expr\">人群：农民 且 镇街：派潭镇<br><small><code>group:farmer &amp; town:paitan</code></small></td>\n    <td>2</td>") {
		t.Errorf("list after saving lacks the segment with its count 2:\n%s", list.body)
	}
	// A taken name is refused with a message, and the first one is kept.
	form.Set("town", "xintang")
	if r := org.do("POST", "/console/segments", form); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "已有同名的受众") {
		t.Errorf("save a taken name = %d, want 409 saying so", r.StatusCode)
	}
	// The composer's count of a saved segment.
	if ac := countJSON(t, org.do("GET", "/console/segments/count?segment=paitan-farmers", nil)); ac.Count != 2 {
		t.Errorf("count of the saved segment = %+v, want 2", ac)
	}

	// Delete: the viewer cannot, the organizer can.
	if r := viewer.do("POST", "/console/segments/paitan-farmers/delete", url.Values{"csrf": {viewer.csrf(vpage)}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer deletes: %d, want 403", r.StatusCode)
	}
	if _, err := store.Get(b.ctx, "default", "paitan-farmers"); err != nil {
		t.Fatalf("after the viewer's delete: %v", err)
	}
	if r := org.do("POST", "/console/segments/paitan-farmers/delete", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("delete without csrf: %d, want 403", r.StatusCode)
	}
	if r := org.do("POST", "/console/segments/paitan-farmers/delete", url.Values{"csrf": {org.csrf(page)}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("organizer deletes: %d, want 303", r.StatusCode)
	}
	if _, err := store.Get(b.ctx, "default", "paitan-farmers"); err == nil {
		t.Error("the segment is still there after delete")
	}
}

func TestAudienceExpression(t *testing.T) {
	for _, tc := range []struct {
		f    audienceForm
		want string
	}{
		{audienceForm{}, ""},
		{audienceForm{Expr: "all"}, "all"},
		{audienceForm{Groups: []string{"farmer"}}, "group:farmer"},
		{audienceForm{Groups: []string{"farmer", " "}, Towns: []string{"paitan", "zhengguo"}, Active: "30"}, "group:farmer & town:(paitan|zhengguo) & active:30d"},
		{audienceForm{Interests: []string{"litchi"}, Expr: "a | b"}, "interest:litchi & (a | b)"},
	} {
		if got := tc.f.expression(); got != tc.want {
			t.Errorf("%+v.expression() = %q, want %q", tc.f, got, tc.want)
		}
	}
}

// Every parser error code has a Chinese text, and the texts read well for
// real errors (no English left, the suggestion named).
func TestSyntaxTexts(t *testing.T) {
	t.Parallel()
	for _, code := range segment.Codes {
		if syntaxTexts[code] == nil {
			t.Errorf("no Chinese text for segment error code %s", code)
		}
	}
	b := setup(t)
	cases := map[string]string{
		"town:patan":              "没有这个镇街：“patan”。您是不是想写 paitan（派潭镇）？",
		"farmer":                  "无法识别“farmer”。您是不是想写 group:farmer（农民）？",
		"group:farmer &":          "表达式在“&”之后就结束了，还缺少一个条件",
		"& group:farmer":          "这里应是一个条件，却是“&”",
		"active:99d":              "活跃天数“99d”超出范围（1 到 35 天）",
		"group:farmer town:派潭":    "“town”前面缺少 &（且）或 |（或）",
		"town:(paitan & licheng)": "town:(...) 列表中应是 | 或 )，却是“&”",
	}
	for in, want := range cases {
		_, err := segment.Parse(in, b.tax)
		var se *segment.SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Parse(%q) = %v", in, err)
		}
		if got := b.console.syntaxMessage(se); !strings.HasPrefix(got, want) {
			t.Errorf("%q: %q, want it to start with %q", in, got, want)
		}
	}
}
