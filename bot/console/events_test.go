package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/bot/quiz"
	"github.com/zengcheng-kexie/kepubot/bot/signup"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// withEvents adds the quiz and sign-up routes to the bundle's API, wired
// as cmd/kepubot does, and returns the sign-up service.
func (b *bundle) withEvents(t *testing.T) *signup.Service {
	t.Helper()
	clock := func() time.Time { return b.now }
	q, err := quiz.New(quiz.Config{Redis: b.rdb, Content: b.content, Taxonomy: b.tax, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	admin.RegisterQuiz(b.api, admin.QuizDeps{Quiz: q.Store(), Content: b.content, Tax: b.tax, Now: clock})
	dq, err := queue.New(b.rdb, queue.Options{Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := signup.New(signup.Config{Redis: b.rdb, Events: b.content, Profiles: b.profiles, Scenes: qrcode.NewStore(b.rdb),
		Tax: b.tax, Queue: func(string) *queue.Queue { return dq }, Now: clock, Loc: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	admin.RegisterSignups(b.api, admin.SignupDeps{Signups: svc, Events: b.content,
		WeChat: func(string) (admin.QRCreator, error) {
			return nil, fmt.Errorf("%w: WeChat API is not configured", admin.ErrUnavailable)
		}})
	return svc
}

func TestCompetitionPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.withEvents(t)
	org, otok := b.loggedIn(t, admin.RoleOrganizer)
	viewer, vtok := b.loggedIn(t, admin.RoleViewer)
	editor, etok := b.loggedIn(t, admin.RoleEditor)

	if r := org.do("GET", "/console/competitions/new", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("GET new competition = %d", r.StatusCode)
	}
	form := url.Values{"csrf": {otok}, "title": {"公民科学素质知识竞赛"}, "code": {"KX2026"}, "starts_at": {"2026-12-01T09:00"},
		"ends_at": {"2026-12-31T18:00"}, "audience": {"group:farmer"}, "question_count": {"10"}, "time_limit_seconds": {"30"},
		"pass_mark": {"6"}, "attempts": {"2"}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("title", "")
	bad.Set("attempts", "0")
	r := org.do("POST", "/console/competitions", bad)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "标题：必填") || !strings.Contains(r.body, "答题次数：至少为 1") ||
		!strings.Contains(r.body, `value="KX2026"`) {
		t.Errorf("bad competition = %d, want 400 with Chinese errors and the input kept:\n%s", r.StatusCode, r.body)
	}
	if r := editor.do("POST", "/console/competitions", with(form, "csrf", etok)); r.StatusCode != http.StatusForbidden {
		t.Errorf("editor creates a competition = %d, want 403", r.StatusCode)
	}
	if r := org.do("POST", "/console/competitions", with(form, "csrf", "")); r.StatusCode != http.StatusForbidden {
		t.Errorf("create without csrf = %d, want 403", r.StatusCode)
	}
	if _, total, _ := b.content.Competitions(b.ctx, "default", "", 0, 10); total != 0 {
		t.Fatalf("competitions after refused creates = %d, want 0", total)
	}
	r = org.do("POST", "/console/competitions", form)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create competition = %d:\n%s", r.StatusCode, r.body)
	}
	path := r.Header.Get("Location")
	id := strings.TrimPrefix(path, "/console/competitions/")
	status := func() content.Status {
		c, err := b.content.Competition(b.ctx, "default", id)
		if err != nil {
			t.Fatal(err)
		}
		return c.Status
	}
	if c, _ := b.content.Competition(b.ctx, "default", id); c.Code != "KX2026" || c.Attempts != 2 || !c.StartsAt.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("created competition = %+v", c)
	}
	for _, tc := range []struct {
		br   *browser
		tok  string
		name string
	}{{viewer, vtok, "viewer"}, {editor, etok, "editor"}, {org, "", "no csrf"}} {
		if r := tc.br.do("POST", path+"/publish", url.Values{"csrf": {tc.tok}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s publishes = %d, want 403", tc.name, r.StatusCode)
		}
	}
	if st := status(); st != content.StatusDraft {
		t.Fatalf("status after refused publishes = %s, want draft", st)
	}
	if r := org.do("POST", path+"/publish", url.Values{"csrf": {otok}}); r.StatusCode != http.StatusSeeOther || status() != content.StatusPublished {
		t.Fatalf("organizer publishes = %d, status %s; want 303, published", r.StatusCode, status())
	}

	// Participation as the quiz store counts it (bot/quiz/store.go
	// counters: p participants, c completed, ok passed; :t:town, :g:group).
	key := "kb:{default:quiz:" + id + "}:cnt"
	if err := b.rdb.HSet(b.ctx, key, "p", 4, "c", 3, "ok", 2, "p:t:paitan", 4, "c:t:paitan", 3, "ok:t:paitan", 2,
		"p:g:farmer", 4, "c:g:farmer", 3, "ok:g:farmer", 2).Err(); err != nil {
		t.Fatal(err)
	}
	page := viewer.do("GET", path, nil)
	for _, want := range []string{"公民科学素质知识竞赛", "KX2026", "已发布", "派潭镇", "农民", "50.0%", "/console/exports/competition-" + id + ".csv"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("competition page lacks %q", want)
		}
	}
	if strings.Contains(page.body, path+"/publish") {
		t.Error("a viewer's competition page offers to publish")
	}
	// The console's export is the statistics, never the API's per-person
	// export with openids.
	csv := viewer.do("GET", "/console/exports/competition-"+id+".csv", nil)
	if csv.StatusCode != http.StatusOK || !strings.HasPrefix(csv.Header.Get("Content-Disposition"), "attachment;") ||
		!strings.Contains(csv.Header.Get("Content-Type"), "text/csv") || !strings.Contains(csv.body, "全部,"+id) ||
		!strings.Contains(csv.body, "镇街,paitan,派潭镇,4,3,2,50.0") {
		t.Errorf("export = %d %q %q:\n%s", csv.StatusCode, csv.Header.Get("Content-Disposition"), csv.Header.Get("Content-Type"), csv.body)
	}
	if r := editor.do("GET", path, nil); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "您的角色不能查看统计") {
		t.Errorf("editor's competition page = %d, want 200 saying stats are not for the role", r.StatusCode)
	}
	if r := editor.do("GET", "/console/exports/competition-"+id+".csv", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("editor's export = %d, want 403", r.StatusCode)
	}
	list := viewer.do("GET", "/console/competitions?status=published", nil)
	if !strings.Contains(list.body, `href="`+path+`"`) || strings.Contains(list.body, "新建竞赛") {
		t.Errorf("viewer's competition list does not link %s, or offers to create one", path)
	}
}

func TestEventPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	svc := b.withEvents(t)
	org, otok := b.loggedIn(t, admin.RoleOrganizer)
	viewer, vtok := b.loggedIn(t, admin.RoleViewer)

	form := url.Values{"csrf": {otok}, "title": {"全国科普日主场活动"}, "code": {"KPR2026"}, "starts_at": {"2026-12-10T09:00"},
		"ends_at": {"2026-12-10T17:00"}, "town": {"licheng"}, "venue": {"增城广场"}, "capacity": {"2"}, "reminders": {"24h 1h"}}
	if r := org.do("POST", "/console/events", with(form, "capacity", "0")); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "名额：至少为 1") {
		t.Errorf("event with no places = %d, want 400 名额：至少为 1:\n%s", r.StatusCode, r.body)
	}
	if r := viewer.do("POST", "/console/events", with(form, "csrf", vtok)); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer creates an event = %d, want 403", r.StatusCode)
	}
	if _, total, _ := b.content.Events(b.ctx, "default", "", 0, 10); total != 0 {
		t.Fatalf("events after refused creates = %d, want 0", total)
	}
	r := org.do("POST", "/console/events", form)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create event = %d:\n%s", r.StatusCode, r.body)
	}
	path := r.Header.Get("Location")
	id := strings.TrimPrefix(path, "/console/events/")
	if r := viewer.do("POST", path+"/publish", url.Values{"csrf": {vtok}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer publishes = %d, want 403", r.StatusCode)
	}
	if r := org.do("POST", path+"/publish", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("publish without csrf = %d, want 403", r.StatusCode)
	}
	if ev, _ := b.content.Event(b.ctx, "default", id); ev.Status != content.StatusDraft {
		t.Fatalf("event after refused publishes = %s, want draft", ev.Status)
	}
	if r := org.do("POST", path+"/publish", url.Values{"csrf": {otok}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish = %d:\n%s", r.StatusCode, r.body)
	}
	ev, err := b.content.Event(b.ctx, "default", id)
	if err != nil || ev.Status != content.StatusPublished {
		t.Fatalf("event after publish = %+v, %v", ev, err)
	}
	for i, who := range []string{"farmer|licheng", "youth|licheng", "worker|xintang"} {
		openID := "o" + strings.Repeat("x", 20) + string(rune('a'+i))
		if _, err := svc.SignUp(b.ctx, "default", ev, openID, "op"+openID, who); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := svc.Attend(b.ctx, "default", ev, openID, who); err != nil {
				t.Fatal(err)
			}
		}
	}
	page := viewer.do("GET", path, nil)
	for _, want := range []string{"全国科普日主场活动", "KPR2026", "已发布", `<span class="big">2 / 2</span>`, "剩余 0",
		`<span class="big">1</span>候补`, "签到（50.0%）", "荔城街道", "农民", "/console/exports/event-" + id + ".csv"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("event page lacks %q", want)
		}
	}
	csv := viewer.do("GET", "/console/exports/event-"+id+".csv", nil)
	if csv.StatusCode != http.StatusOK || !strings.HasPrefix(csv.Header.Get("Content-Disposition"), "attachment;") ||
		!strings.HasPrefix(csv.body, "\uFEFFdimension,key,invited,signed_up") || strings.Contains(csv.body, "oxxxx") {
		t.Errorf("stats CSV = %d %q:\n%s", csv.StatusCode, csv.Header.Get("Content-Disposition"), csv.body)
	}
	if list := viewer.do("GET", "/console/events", nil); !strings.Contains(list.body, `href="`+path+`"`) {
		t.Errorf("event list does not link %s", path)
	}

	// The organizer's buttons: check-in code, reminders, a notice.
	if strings.Contains(page.body, "重新安排提醒") || strings.Contains(page.body, "创建通知推送") || !strings.Contains(page.body, "签到二维码") {
		t.Errorf("viewer's event page: organizer buttons shown, or no check-in code link")
	}
	opage := org.do("GET", path, nil)
	for _, want := range []string{path + "/qrcode", path + "/reminders", path + "/notice", "开始前 24 小时"} {
		if !strings.Contains(opage.body, want) {
			t.Errorf("organizer's event page lacks %q", want)
		}
	}
	r = org.do("POST", path+"/reminders", url.Values{"csrf": {otok}})
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(org.do("GET", r.Header.Get("Location"), nil).body, "已按活动时间安排好提醒") {
		t.Errorf("reschedule reminders = %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if qr := org.do("GET", path+"/qrcode", nil); qr.StatusCode != http.StatusServiceUnavailable || !strings.Contains(qr.body, "签到二维码暂时无法生成") {
		t.Errorf("check-in code without WeChat = %d, want 503 saying why", qr.StatusCode)
	}
	if n := org.do("POST", path+"/notice", url.Values{"csrf": {otok}, "url": {""}}); n.StatusCode != http.StatusBadRequest || !strings.Contains(n.body, "活动通知没有创建") {
		t.Errorf("notice without a link = %d, want 400 saying so", n.StatusCode)
	}
}

// with returns a copy of form with key set to value.
func with(form url.Values, key, value string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = v
	}
	out.Set(key, value)
	return out
}

// TestPagesRenderWhole renders every page of the content, review,
// competition and event areas for each role and checks that the template
// ran to its end (a template error stops the page midway, after a 200).
func TestPagesRenderWhole(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.withEvents(t)
	adm, tok := b.loggedIn(t, admin.RoleAdmin)
	item := adm.do("POST", "/console/items", litchiForm(tok)).Header.Get("Location")
	edit := litchiForm(tok)
	edit.Set("valid_from", "2026-12-01T08:00")
	edit.Set("valid_until", "2027-03-01T08:00")
	edit.Set("short", "花期别打药")
	adm.do("POST", item, edit)
	adm.do("POST", item+"/submit", url.Values{"csrf": {tok}})
	comp := adm.do("POST", "/console/competitions", url.Values{"csrf": {tok}, "title": {"竞赛"}, "starts_at": {"2026-12-01T09:00"},
		"ends_at": {"2026-12-31T18:00"}, "question_count": {"5"}, "time_limit_seconds": {"30"}, "pass_mark": {"3"}, "attempts": {"1"},
		"description": {"简介"}}).Header.Get("Location")
	ev := adm.do("POST", "/console/events", url.Values{"csrf": {tok}, "title": {"活动"}, "starts_at": {"2026-12-10T09:00"},
		"ends_at": {"2026-12-10T17:00"}, "town": {"paitan"}, "capacity": {"30"}, "description": {"简介"},
		"signup_opens": {"2026-11-01T09:00"}, "signup_closes": {"2026-12-09T09:00"}}).Header.Get("Location")
	if item == "" || comp == "" || ev == "" {
		t.Fatalf("setup: item %q, competition %q, event %q", item, comp, ev)
	}
	pages := []string{"/console/items", "/console/items?status=in_review&topic=litchi&group=farmer&town=paitan", "/console/items/new",
		item, item + "?a=1&b=2", item + "/edit", "/console/review", "/console/competitions", "/console/competitions/new", comp,
		"/console/events", "/console/events/new", ev}
	for _, role := range admin.Roles() {
		br, _ := b.loggedIn(t, role)
		for _, p := range pages {
			r := br.do("GET", p, nil)
			if r.StatusCode == http.StatusForbidden {
				continue
			}
			if r.StatusCode != http.StatusOK || !strings.HasSuffix(strings.TrimSpace(r.body), "</html>") {
				t.Errorf("%s GET %s = %d, want 200 and the whole page:\n%s", role, p, r.StatusCode, r.body)
			}
		}
	}
}
