package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/content"
)

// itemForm is a valid new item as the form posts it.
func litchiForm(csrf string) url.Values {
	return url.Values{
		"csrf": {csrf}, "title": {"荔枝花期管理要点"}, "summary": {"花期不要喷杀虫剂，放蜂帮助授粉。"},
		"body": {"荔枝开花时要保护蜜蜂。\r\n喷药应在花前完成。"}, "url": {"https://kepu.example.org/a/1"},
		"source": {"广东省农业农村厅"}, "topics": {"litchi", "agriculture"}, "groups": {"farmer"}, "towns": {"paitan"},
		"months": {"2", "3"}, "priority": {"60"}, "solar_terms": {"惊蛰 春分"},
	}
}

// itemStatus reads an item's status from the store.
func (b *bundle) itemStatus(t *testing.T, id string) (content.Status, int) {
	t.Helper()
	it, err := b.content.Item(b.ctx, "default", id)
	if err != nil {
		t.Fatal(err)
	}
	return it.Status, it.Version
}

// loggedIn returns a browser logged in as the user of role and its CSRF
// token.
func (b *bundle) loggedIn(t *testing.T, role admin.Role) (*browser, string) {
	t.Helper()
	br := b.browser(t)
	page := br.mustLogin(string(role) + "-user")
	return br, br.csrf(page)
}

// TestItemWorkflow: an editor creates and submits an item through the
// forms, cannot approve it, a reviewer approves, an organizer publishes;
// an edit then shows its changed words in the diff.
func TestItemWorkflow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	editor, etok := b.loggedIn(t, admin.RoleEditor)
	reviewer, rtok := b.loggedIn(t, admin.RoleReviewer)
	organizer, otok := b.loggedIn(t, admin.RoleOrganizer)

	if r := editor.do("GET", "/console/items/new", nil); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `value="litchi"`) || !strings.Contains(r.body, "派潭镇") {
		t.Fatalf("GET new item form = %d, want 200 with the taxonomy's checkboxes:\n%s", r.StatusCode, r.body)
	}
	r := editor.do("POST", "/console/items", litchiForm(etok))
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/console/items/") {
		t.Fatalf("create item = %d %q, want 303 to the item:\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	path := r.Header.Get("Location")
	id := strings.TrimPrefix(path, "/console/items/")
	it, err := b.content.Item(b.ctx, "default", id)
	if err != nil {
		t.Fatal(err)
	}
	if it.Title != "荔枝花期管理要点" || it.Body != "荔枝开花时要保护蜜蜂。\n喷药应在花前完成。" || len(it.Topics) != 2 ||
		it.Priority != 60 || len(it.Season.Months) != 2 || len(it.Season.SolarTerms) != 2 || it.CreatedBy != b.users[admin.RoleEditor].ID {
		t.Errorf("created item = %+v", it)
	}
	page := editor.do("GET", path, nil)
	for _, want := range []string{"荔枝花期管理要点", "草稿", "荔枝、农业", "农民", "派潭镇", "提交审核", "这是第一个版本"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("item page lacks %q", want)
		}
	}

	step := func(name string, br *browser, action, token string, form url.Values, want int, wantStatus content.Status) response {
		t.Helper()
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", token)
		r := br.do("POST", path+"/"+action, form)
		if r.StatusCode != want {
			t.Fatalf("%s: POST %s = %d, want %d:\n%s", name, action, r.StatusCode, want, r.body)
		}
		if st, _ := b.itemStatus(t, id); st != wantStatus {
			t.Fatalf("%s: status %s, want %s", name, st, wantStatus)
		}
		return r
	}
	step("editor submits", editor, "submit", etok, nil, http.StatusSeeOther, content.StatusInReview)
	// The editor may not approve: the console refuses the role.
	step("editor approves", editor, "approve", etok, nil, http.StatusForbidden, content.StatusInReview)
	step("reviewer rejects without a reason", reviewer, "reject", rtok, nil, http.StatusBadRequest, content.StatusInReview)
	r = step("reviewer rejects", reviewer, "reject", rtok, url.Values{"reason": {"请注明出处"}, "back": {"/console/review"}}, http.StatusSeeOther, content.StatusDraft)
	if r.Header.Get("Location") != "/console/review" {
		t.Errorf("reject from the queue redirects to %q, want /console/review", r.Header.Get("Location"))
	}
	mine := editor.do("GET", "/console/review", nil)
	if !strings.Contains(mine.body, "被 reviewer-user 退回：请注明出处") {
		t.Errorf("editor's review page does not show the rejection:\n%s", mine.body)
	}
	step("editor resubmits", editor, "submit", etok, nil, http.StatusSeeOther, content.StatusInReview)
	step("reviewer approves", reviewer, "approve", rtok, nil, http.StatusSeeOther, content.StatusApproved)
	step("reviewer publishes", reviewer, "publish", rtok, nil, http.StatusForbidden, content.StatusApproved)
	step("organizer publishes", organizer, "publish", otok, nil, http.StatusSeeOther, content.StatusPublished)

	// An edit makes version 2; the page diffs it against the published version 1.
	form := litchiForm(etok)
	form.Set("summary", "花期不要喷杀虫剂，请放养蜜蜂帮助授粉。")
	form.Set("body", "荔枝开花时要保护蜜蜂。\n喷药应在开花前十天完成。")
	if r := editor.do("POST", path, form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit = %d, want 303:\n%s", r.StatusCode, r.body)
	}
	if st, v := b.itemStatus(t, id); st != content.StatusDraft || v != 2 {
		t.Fatalf("after the edit: %s v%d, want draft v2", st, v)
	}
	page = reviewer.do("GET", path, nil)
	for _, want := range []string{"第 1 版 → 第 2 版", "<del>放</del>", "<ins>请放养蜜</ins>", "<ins>开</ins>", "<ins>十天</ins>", "<h4>摘要</h4>", "<h4>正文</h4>"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("item page after an edit lacks %q", want)
		}
	}
	if strings.Contains(page.body, "<h4>标题</h4>") {
		t.Error("the diff shows the unchanged title")
	}
	if r := reviewer.do("GET", path+"?a=1&b=9", nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("diff with a missing version = %d, want 400", r.StatusCode)
	}

	// In the queue, the reviewer sees the diff against the published version.
	step("editor submits v2", editor, "submit", etok, nil, http.StatusSeeOther, content.StatusInReview)
	queue := reviewer.do("GET", "/console/review", nil)
	for _, want := range []string{"荔枝花期管理要点", "与已发布的第 1 版相比", "<ins>十天</ins>", `action="` + path + `/approve"`, `action="` + path + `/reject"`} {
		if !strings.Contains(queue.body, want) {
			t.Errorf("review queue lacks %q", want)
		}
	}
	list := b.browser(t)
	list.mustLogin("viewer-user")
	lib := list.do("GET", "/console/items?status=in_review&topic=litchi", nil)
	if lib.StatusCode != http.StatusOK || !strings.Contains(lib.body, `href="`+path+`"`) || strings.Contains(lib.body, "新建内容") {
		t.Errorf("viewer's library = %d, want 200 linking the item and no create button:\n%s", lib.StatusCode, lib.body)
	}
	if lib := list.do("GET", "/console/items?status=published", nil); strings.Contains(lib.body, `href="`+path+`"`) {
		t.Error("the library's published filter lists an item in review")
	}
}

// TestSelfApproval: an admin (whose role may approve) who wrote an item
// gets the API's refusal as a clear message, and the item is unchanged.
func TestSelfApproval(t *testing.T) {
	t.Parallel()
	b := setup(t)
	adm, tok := b.loggedIn(t, admin.RoleAdmin)
	r := adm.do("POST", "/console/items", litchiForm(tok))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create = %d:\n%s", r.StatusCode, r.body)
	}
	path := r.Header.Get("Location")
	id := strings.TrimPrefix(path, "/console/items/")
	if r := adm.do("POST", path+"/submit", url.Values{"csrf": {tok}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit = %d", r.StatusCode)
	}
	r = adm.do("POST", path+"/approve", url.Values{"csrf": {tok}})
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "您不能审核自己编写、修改或提交的内容") {
		t.Errorf("self-approval = %d, want 403 with a clear message:\n%s", r.StatusCode, r.body)
	}
	if st, _ := b.itemStatus(t, id); st != content.StatusInReview {
		t.Errorf("status after a refused self-approval = %s, want in_review", st)
	}
}

// TestItemFormErrors: bad input re-renders the form with the user's
// input and a Chinese message, and creates nothing.
func TestItemFormErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	editor, tok := b.loggedIn(t, admin.RoleEditor)
	for _, tc := range []struct {
		name  string
		field string
		value string
		want  string
	}{
		{"empty title", "title", "", "标题：必填"},
		{"bad url", "url", "kepu.example.org", "链接：须为 http(s) 开头的完整网址"},
		{"long title", "title", strings.Repeat("荔", 65), "标题：最多 64 个字，现有 65 个"},
		{"bad priority", "priority", "高", "优先级须为 0–100 的整数"},
		{"unknown town", "towns", "atlantis", "镇街：unknown town"},
	} {
		form := litchiForm(tok)
		form.Set(tc.field, tc.value)
		r := editor.do("POST", "/console/items", form)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: status %d, want 400 with %q:\n%s", tc.name, r.StatusCode, tc.want, r.body)
		}
		if !strings.Contains(r.body, "花期不要喷杀虫剂，放蜂帮助授粉。") || !strings.Contains(r.body, `value="litchi" checked`) {
			t.Errorf("%s: the form lost the user's input", tc.name)
		}
	}
	if _, total, err := b.content.Items(b.ctx, "default", content.ItemFilter{}); err != nil || total != 0 {
		t.Errorf("items after bad input: %d, %v; want none", total, err)
	}
}

// TestItemRefusals: a viewer's POST to every item action changes nothing,
// nor does a POST without the CSRF token.
func TestItemRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	editor, etok := b.loggedIn(t, admin.RoleEditor)
	r := editor.do("POST", "/console/items", litchiForm(etok))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create = %d:\n%s", r.StatusCode, r.body)
	}
	path := r.Header.Get("Location")
	id := strings.TrimPrefix(path, "/console/items/")
	viewer, vtok := b.loggedIn(t, admin.RoleViewer)
	if page := viewer.do("GET", path, nil); strings.Contains(page.body, "/submit") || strings.Contains(page.body, "/edit") {
		t.Error("a viewer's item page offers actions")
	}
	paths := []string{"/console/items", path}
	for _, a := range itemActions {
		paths = append(paths, path+"/"+string(a.Action))
	}
	for _, p := range paths {
		form := litchiForm(vtok)
		form.Set("title", "被篡改的标题")
		form.Set("reason", "x")
		if r := viewer.do("POST", p, form); r.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s = %d, want 403", p, r.StatusCode)
		}
		form.Del("csrf")
		if r := editor.do("POST", p, form); r.StatusCode != http.StatusForbidden {
			t.Errorf("editor POST %s without csrf = %d, want 403", p, r.StatusCode)
		}
	}
	it, err := b.content.Item(b.ctx, "default", id)
	if err != nil {
		t.Fatal(err)
	}
	if it.Status != content.StatusDraft || it.Version != 1 || it.Title != "荔枝花期管理要点" {
		t.Errorf("item after refused POSTs = %s v%d %q, want draft v1 unchanged", it.Status, it.Version, it.Title)
	}
	if _, total, _ := b.content.Items(b.ctx, "default", content.ItemFilter{}); total != 1 {
		t.Errorf("items after refused POSTs = %d, want 1", total)
	}
}
