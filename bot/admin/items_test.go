package admin_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func litchiItem() map[string]any {
	return map[string]any{
		"title": "荔枝花期管理要点", "summary": "花期不要喷杀虫剂，放蜂帮助授粉。",
		"url": "https://kepu.example.org/a/1", "source": "广东省农业农村厅",
		"groups": []string{"farmer"}, "towns": []string{"paitan"}, "topics": []string{"litchi"},
		"season": map[string]any{"months": []int{2, 3}}, "priority": 60,
	}
}

func itemIDs(out map[string]any) []string {
	var ids []string
	for _, it := range out["items"].([]any) {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

// TestItemWorkflow takes an item from draft to retired with different
// users, and checks what each role may not do.
func TestItemWorkflow(t *testing.T) {
	t.Parallel()
	api := newContentAPI(t)
	editor := api.user("编辑", "editor")
	reviewer := api.user("专家", "reviewer")
	organizer := api.user("组织者", "organizer")
	viewer := api.user("观察员", "viewer")

	if got, _ := api.do("POST", "/api/v1/items", "", litchiItem()); got != http.StatusUnauthorized {
		t.Errorf("POST /api/v1/items without a token = %d, want 401", got)
	}
	if got, _ := api.do("POST", "/api/v1/items", viewer, litchiItem()); got != http.StatusForbidden {
		t.Errorf("POST /api/v1/items as viewer = %d, want 403", got)
	}
	it := api.must(http.StatusCreated, "POST", "/api/v1/items", editor, litchiItem())
	id, _ := it["id"].(string)
	if id == "" || it["status"] != "draft" || it["title"] != "荔枝花期管理要点" || it["versions"] != float64(1) {
		t.Fatalf("created item = %v, want an id, draft, the title, 1 version", it)
	}
	base := "/api/v1/items/" + id
	steps := []struct {
		name   string
		path   string
		token  string
		body   any
		want   int
		status string
	}{
		{"approve a draft", "/approve", reviewer, nil, http.StatusConflict, ""},
		{"viewer submits", "/submit", viewer, nil, http.StatusForbidden, ""},
		{"editor submits", "/submit", editor, nil, http.StatusOK, "in_review"},
		{"editor approves", "/approve", editor, nil, http.StatusForbidden, ""},
		{"reject without a reason", "/reject", reviewer, `{}`, http.StatusBadRequest, ""},
		{"reviewer rejects", "/reject", reviewer, map[string]string{"reason": "请注明出处"}, http.StatusOK, "draft"},
		{"editor resubmits", "/submit", editor, "", http.StatusOK, "in_review"},
		{"reviewer approves", "/approve", reviewer, nil, http.StatusOK, "approved"},
		{"reviewer publishes", "/publish", reviewer, nil, http.StatusForbidden, ""},
		{"organizer publishes", "/publish", organizer, nil, http.StatusOK, "published"},
		{"publish twice", "/publish", organizer, nil, http.StatusConflict, ""},
	}
	for _, s := range steps {
		got, out := api.do("POST", base+s.path, s.token, s.body)
		if got != s.want || (s.status != "" && out["status"] != s.status) {
			t.Fatalf("%s: POST %s = %d %v, want %d %s", s.name, s.path, got, out, s.want, s.status)
		}
	}
	pub := api.must(http.StatusOK, "GET", "/api/v1/items?status=published", viewer, nil)
	if !slices.Equal(itemIDs(pub), []string{id}) {
		t.Errorf("published items = %v, want [%s]", itemIDs(pub), id)
	}
	for _, q := range []string{"topic=litchi&group=farmer&town=paitan", "topic=health", "group=youth"} {
		got := itemIDs(api.must(http.StatusOK, "GET", "/api/v1/items?status=published&"+q, viewer, nil))
		if want := strings.HasPrefix(q, "topic=litchi"); (len(got) == 1) != want {
			t.Errorf("published items for %s = %v", q, got)
		}
	}

	if got, _ := api.do("POST", base+"/retire", organizer, nil); got != http.StatusBadRequest {
		t.Errorf("retire without a reason = %d, want 400", got)
	}
	api.must(http.StatusOK, "POST", base+"/retire", organizer, map[string]string{"reason": "农药登记信息已更新"})
	if ids := itemIDs(api.must(http.StatusOK, "GET", "/api/v1/items?status=published", viewer, nil)); len(ids) != 0 {
		t.Errorf("published items after retiring = %v, want none", ids)
	}
	got := api.must(http.StatusOK, "GET", base, viewer, nil)
	hist, _ := got["history"].([]any)
	var actions []string
	for _, h := range hist {
		actions = append(actions, h.(map[string]any)["action"].(string))
	}
	want := []string{"create", "submit", "reject", "submit", "approve", "publish", "retire"}
	if got["status"] != "retired" || !slices.Equal(actions, want) {
		t.Errorf("GET %s = %s with history %v, want retired with %v", base, got["status"], actions, want)
	}

	// Every transition reached the audit log, refused ones included.
	audit := api.must(http.StatusOK, "GET", "/api/v1/audit?limit=1000", bootToken, nil)
	paths := map[string]int{}
	for _, e := range audit["entries"].([]any) {
		paths[e.(map[string]any)["path"].(string)]++
	}
	if paths[base+"/approve"] != 3 || paths[base+"/retire"] != 2 {
		t.Errorf("audited paths = %v, want 3 approve and 2 retire requests", paths)
	}
}

func TestSelfApproval(t *testing.T) {
	t.Parallel()
	api := newContentAPI(t)
	chief := api.user("主编", "admin")
	other := api.user("另一位管理员", "admin")
	it := api.must(http.StatusCreated, "POST", "/api/v1/items", chief, litchiItem())
	base := "/api/v1/items/" + it["id"].(string)
	api.must(http.StatusOK, "POST", base+"/submit", chief, nil)
	if got, out := api.do("POST", base+"/approve", chief, nil); got != http.StatusForbidden {
		t.Errorf("self-approval = %d %v, want 403", got, out)
	}
	api.must(http.StatusOK, "POST", base+"/approve", other, nil)
}

func TestItemEdits(t *testing.T) {
	t.Parallel()
	api := newContentAPI(t)
	editor := api.user("编辑", "editor")
	it := api.must(http.StatusCreated, "POST", "/api/v1/items", editor, litchiItem())
	base := "/api/v1/items/" + it["id"].(string)

	// A client may send back what it read.
	it["title"] = "荔枝花期管理要点（修订）"
	got := api.must(http.StatusOK, "PUT", base, editor, it)
	if got["versions"] != float64(2) || got["title"] != "荔枝花期管理要点（修订）" {
		t.Errorf("PUT = %v, want version 2 with the new title", got)
	}
	old := api.must(http.StatusOK, "GET", base+"?version=1", editor, nil)
	if old["title"] != "荔枝花期管理要点" || old["version"] != float64(1) {
		t.Errorf("version 1 = %v, want the first title", old["title"])
	}
	if got, _ := api.do("GET", base+"?version=3", editor, nil); got != http.StatusBadRequest {
		t.Errorf("GET ?version=3 = %d, want 400", got)
	}
	if got, _ := api.do("PUT", "/api/v1/items/it_99", editor, litchiItem()); got != http.StatusNotFound {
		t.Errorf("PUT a missing item = %d, want 404", got)
	}
	if got, _ := api.do("GET", "/api/v1/items/it_99", editor, nil); got != http.StatusNotFound {
		t.Errorf("GET a missing item = %d, want 404", got)
	}

	bad := litchiItem()
	bad["title"], bad["url"], bad["topics"] = "", "kepu.example.org/a/1", []string{"magic"}
	code, out := api.do("POST", "/api/v1/items", editor, bad)
	fields, _ := out["fields"].(map[string]any)
	if code != http.StatusBadRequest || fields["title"] == nil || fields["url"] == nil || fields["topics"] == nil || out["error"] == nil {
		t.Errorf("POST an invalid item = %d %v, want 400 with title, url and topics fields", code, out)
	}
	if got, _ := api.do("GET", "/api/v1/items?status=lost", editor, nil); got != http.StatusBadRequest {
		t.Errorf("GET ?status=lost = %d, want 400", got)
	}
}
