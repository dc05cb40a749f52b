package admin_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
