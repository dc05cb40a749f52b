package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

const bootToken = "bootstrap-secret"

// contentAPI is a running admin API with users, audit and content routes.
type contentAPI struct {
	t   *testing.T
	url string
	rdb redis.UniversalClient
}

// taxVocab adapts the real taxonomy for the tests.
type taxVocab struct{ *taxonomy.Taxonomy }

func (v taxVocab) ValidGroup(id string) bool { _, ok := v.Group(id); return ok }
func (v taxVocab) ValidTown(id string) bool  { _, ok := v.Town(id); return ok }
func (v taxVocab) ValidTopic(id string) bool { _, ok := v.Topic(id); return ok }

func newContentAPI(t *testing.T) *contentAPI {
	t.Helper()
	rdb := redistest.Start(t)
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	users := admin.NewUsers(rdb)
	s := admin.NewServer(admin.BootstrapAdmin(bootToken, users), nil)
	s.SetAccounts([]string{"default"})
	admin.RegisterAudit(s, admin.NewAuditLog(rdb, nil))
	admin.RegisterUsers(s, users)
	admin.RegisterContent(s, admin.ContentDeps{Store: content.NewStore(rdb, nil), Vocab: taxVocab{tax}})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &contentAPI{t: t, url: srv.URL, rdb: rdb}
}

// do sends body (nil, a string or a value to encode) and decodes the answer.
func (a *contentAPI) do(method, path, token string, body any) (int, map[string]any) {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			a.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, out
}

// must is do that fails the test unless the status is want.
func (a *contentAPI) must(want int, method, path, token string, body any) map[string]any {
	a.t.Helper()
	got, out := a.do(method, path, token, body)
	if got != want {
		a.t.Fatalf("%s %s = %d %v, want %d", method, path, got, out, want)
	}
	return out
}

// user creates a user with role and returns its token.
func (a *contentAPI) user(name string, role admin.Role) string {
	a.t.Helper()
	out := a.must(http.StatusCreated, "POST", "/api/v1/users", bootToken, map[string]any{"name": name, "role": role})
	return out["token"].(string)
}

func TestUsers(t *testing.T) {
	t.Parallel()
	api := newContentAPI(t)
	out := api.must(http.StatusCreated, "POST", "/api/v1/users", bootToken, map[string]any{"name": "王编辑", "role": "editor"})
	token, _ := out["token"].(string)
	if out["id"] != "u_1" || out["name"] != "王编辑" || out["role"] != "editor" || len(token) != 64 {
		t.Fatalf("POST /api/v1/users = %v, want u_1 editor with a 64-hex token", out)
	}

	tests := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		want   int
	}{
		{"no token", "GET", "/api/v1/users", "", nil, http.StatusUnauthorized},
		{"unknown token", "GET", "/api/v1/users", "nope", nil, http.StatusUnauthorized},
		{"editor lists users", "GET", "/api/v1/users", token, nil, http.StatusForbidden},
		{"editor creates a user", "POST", "/api/v1/users", token, map[string]any{"name": "x", "role": "admin"}, http.StatusForbidden},
		{"bad role", "POST", "/api/v1/users", bootToken, map[string]any{"name": "x", "role": "king"}, http.StatusBadRequest},
		{"no name", "POST", "/api/v1/users", bootToken, map[string]any{"role": "viewer"}, http.StatusBadRequest},
		{"unknown field", "POST", "/api/v1/users", bootToken, `{"name":"x","role":"viewer","admin":true}`, http.StatusBadRequest},
		{"editor reads items", "GET", "/api/v1/items", token, nil, http.StatusOK},
		{"editor reads the audit log", "GET", "/api/v1/audit", token, nil, http.StatusForbidden},
	}
	for _, tt := range tests {
		if got, body := api.do(tt.method, tt.path, tt.token, tt.body); got != tt.want {
			t.Errorf("%s: %s %s = %d %v, want %d", tt.name, tt.method, tt.path, got, body, tt.want)
		}
	}
	_, bad := api.do("POST", "/api/v1/users", bootToken, map[string]any{"name": "", "role": "king"})
	if f, _ := bad["fields"].(map[string]any); f["name"] == nil || f["role"] == nil {
		t.Errorf("bad user fields = %v, want name and role", bad)
	}

	list := api.must(http.StatusOK, "GET", "/api/v1/users", bootToken, nil)
	users, _ := list["users"].([]any)
	if len(users) != 1 || strings.Contains(mustJSON(t, list), token) {
		t.Errorf("GET /api/v1/users = %v, want one user and no token", list)
	}
	// Redis holds the token's hash only.
	stored, err := api.rdb.HGetAll(t.Context(), "kb:{admin}:tokens").Result()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range stored {
		if strings.Contains(k+v, token) {
			t.Errorf("Redis stores the raw token")
		}
	}

	audit := api.must(http.StatusOK, "GET", "/api/v1/audit?limit=3", bootToken, nil)
	entries, _ := audit["entries"].([]any)
	if len(entries) != 3 {
		t.Fatalf("GET /api/v1/audit?limit=3 = %d entries, want 3", len(entries))
	}
	// Refused writes are audited too, newest first.
	first := entries[0].(map[string]any)
	if first["method"] != "POST" || first["path"] != "/api/v1/users" || first["status"] != float64(400) {
		t.Errorf("newest audit entry = %v, want the refused POST /api/v1/users", first)
	}
	if got, _ := api.do("GET", "/api/v1/audit?limit=0", bootToken, nil); got != http.StatusBadRequest {
		t.Errorf("limit=0: %d, want 400", got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUserNamesUnique(t *testing.T) {
	t.Parallel()
	api := newContentAPI(t)
	api.must(http.StatusCreated, "POST", "/api/v1/users", bootToken, map[string]any{"name": "Wang Li", "role": "editor"})
	for _, name := range []string{"Wang Li", " wang li ", "WANG LI"} {
		got, body := api.do("POST", "/api/v1/users", bootToken, map[string]any{"name": name, "role": "viewer"})
		fields, _ := body["fields"].(map[string]any)
		msg, _ := body["error"].(string)
		if got != http.StatusConflict || fields["name"] == nil || !strings.Contains(msg, "already exists") {
			t.Errorf("POST /api/v1/users %q = %d %v, want 409 naming the field", name, got, body)
		}
	}
	api.must(http.StatusCreated, "POST", "/api/v1/users", bootToken, map[string]any{"name": "Wang Lin", "role": "viewer"})
	list := api.must(http.StatusOK, "GET", "/api/v1/users", bootToken, nil)
	if users, _ := list["users"].([]any); len(users) != 2 {
		t.Errorf("GET /api/v1/users = %v, want 2 users", list)
	}
}

// TestUserNamesRace is two replicas (and more) creating the same name at
// once: exactly one wins, whatever the case of its letters.
func TestUserNamesRace(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		// Separate stores, as on separate replicas.
		users := admin.NewUsers(rdb)
		name := "Chen Hua"
		if i%2 == 1 {
			name = "chen hua "
		}
		wg.Go(func() { _, errs[i] = users.Create(t.Context(), name, admin.RoleViewer, "test") })
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, admin.ErrNameTaken) || admin.ErrorStatus(err) != http.StatusConflict:
			t.Errorf("Create #%d = %v (status %d), want ErrNameTaken and 409", i, err, admin.ErrorStatus(err))
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent Creates of one name succeeded, want 1", won, n)
	}
	all, err := admin.NewUsers(rdb).List(t.Context())
	if err != nil || len(all) != 1 {
		t.Errorf("List = %d users, %v; want 1", len(all), err)
	}
	// The loser's tokens were never stored.
	if tokens, _ := rdb.HLen(t.Context(), "kb:{admin}:tokens").Result(); tokens != 1 {
		t.Errorf("%d tokens stored, want 1", tokens)
	}
}

// TestUserNamesBackfill: users created before names were unique are found
// by name on first use; of two old users with one name the older keeps
// it, and no new user can take an old user's name.
func TestUserNamesBackfill(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t)
	ctx := t.Context()
	old := func(id, name string) {
		raw := mustJSON(t, admin.User{ID: id, Name: name, Role: admin.RoleEditor, CreatedBy: "admin"})
		if err := rdb.HSet(ctx, "kb:{admin}:users", id, raw).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// As before the index: u_10 sorts after u_9 by number, not by text.
	old("u_10", "Li Ming")
	old("u_9", "li ming")
	old("u_3", "张主任")
	if err := rdb.Set(ctx, "kb:{admin}:users:seq", 10, 0).Err(); err != nil {
		t.Fatal(err)
	}
	users := admin.NewUsers(rdb)
	for _, tc := range []struct{ name, want string }{
		{"Li Ming", "u_9"}, {" LI MING", "u_9"}, {"张主任", "u_3"},
	} {
		if u, err := users.ByName(ctx, tc.name); err != nil || u.ID != tc.want {
			t.Errorf("ByName(%q) = %s, %v; want %s", tc.name, u.ID, err, tc.want)
		}
	}
	if _, err := users.ByName(ctx, "nobody"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("ByName(nobody) = %v, want ErrNotFound", err)
	}
	// Another replica, with its own store, sees the index complete.
	other := admin.NewUsers(rdb)
	if _, err := other.Create(ctx, "张主任 ", admin.RoleViewer, "test"); !errors.Is(err, admin.ErrNameTaken) {
		t.Errorf("Create(an old user's name) = %v, want ErrNameTaken", err)
	}
	nu, err := other.Create(ctx, "Zhao Lei", admin.RoleViewer, "test")
	if err != nil {
		t.Fatal(err)
	}
	if u, err := users.ByName(ctx, "zhao lei"); err != nil || !reflect.DeepEqual(u, nu.User) {
		t.Errorf("ByName(zhao lei) = %+v, %v; want %+v", u, err, nu.User)
	}
}

// TestUserNamesBackfillFirstCreate: when the first call after an upgrade
// is a Create, the old names are indexed before the new name is claimed.
func TestUserNamesBackfillFirstCreate(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t)
	ctx := t.Context()
	raw := mustJSON(t, admin.User{ID: "u_1", Name: "Old Name", Role: admin.RoleAdmin})
	if err := rdb.HSet(ctx, "kb:{admin}:users", "u_1", raw).Err(); err != nil {
		t.Fatal(err)
	}
	users := admin.NewUsers(rdb)
	if _, err := users.Create(ctx, "old name", admin.RoleViewer, "test"); !errors.Is(err, admin.ErrNameTaken) {
		t.Errorf("Create(old name) first = %v, want ErrNameTaken", err)
	}
}

// TestUserDepartment: a user may have a department (optional, at most 40
// characters), listed with the users and carried by the user's token.
func TestUserDepartment(t *testing.T) {
	t.Parallel()
	api := newContentAPI(t)
	out := api.must(http.StatusCreated, "POST", "/api/v1/users", bootToken, map[string]any{"name": "李组织", "role": "organizer", "department": " 农业农村局 "})
	if out["department"] != "农业农村局" {
		t.Errorf("POST /api/v1/users department = %v, want 农业农村局", out["department"])
	}
	api.must(http.StatusCreated, "POST", "/api/v1/users", bootToken, map[string]any{"name": "无部门", "role": "viewer"})
	if got, body := api.do("POST", "/api/v1/users", bootToken, map[string]any{"name": "太长", "role": "viewer", "department": strings.Repeat("部", 41)}); got != http.StatusBadRequest || !strings.Contains(mustJSON(t, body), "department") {
		t.Errorf("a 41-character department = %d %v, want 400 naming department", got, body)
	}
	list := api.must(http.StatusOK, "GET", "/api/v1/users", bootToken, nil)
	depts := map[string]any{}
	for _, u := range list["users"].([]any) {
		u := u.(map[string]any)
		depts[u["name"].(string)] = u["department"]
	}
	if depts["李组织"] != "农业农村局" || depts["无部门"] != nil || len(depts) != 2 {
		t.Errorf("GET /api/v1/users departments = %v, want 李组织 in 农业农村局, 无部门 without", depts)
	}
	p, err := admin.NewUsers(api.rdb).Authenticate(context.Background(), out["token"].(string))
	if err != nil || p.Department != "农业农村局" {
		t.Errorf("Authenticate = %+v, %v, want the department 农业农村局", p, err)
	}
}
