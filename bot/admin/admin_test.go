package admin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// An in-process caller's principal (the console's) is served without a
// token and still checked against the route's roles; a context without
// one, or with an invalid role, needs a token as before.
func TestWithPrincipal(t *testing.T) {
	s := NewServer(nil, nil)
	s.SetAccounts([]string{"default"})
	s.Handle("POST /api/v1/thing", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		return map[string]string{"by": p.UserID}, nil
	}, RoleEditor)
	cases := []struct {
		name string
		ctx  context.Context
		want int
	}{
		{"editor", WithPrincipal(context.Background(), Principal{UserID: "u1", Role: RoleEditor}), http.StatusOK},
		{"viewer", WithPrincipal(context.Background(), Principal{UserID: "u2", Role: RoleViewer}), http.StatusForbidden},
		{"bad role", WithPrincipal(context.Background(), Principal{UserID: "u3", Role: "root"}), http.StatusUnauthorized},
		{"none", context.Background(), http.StatusUnauthorized},
	}
	for _, c := range cases {
		req := httptest.NewRequestWithContext(c.ctx, "POST", "/api/v1/thing", nil)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, rec.Code, c.want, rec.Body)
		}
	}
}

type auditRecorder struct{ paths []string }

func (a *auditRecorder) Audit(_ context.Context, e AuditEntry) { a.paths = append(a.paths, e.Path) }

// A change is audited, allowed or not; a query posted as a body (a
// segment preview) is not.
func TestAuditChangesNotQueries(t *testing.T) {
	s := NewServer(nil, nil)
	s.SetAccounts([]string{"default"})
	rec := &auditRecorder{}
	s.SetAuditor(rec)
	ok := func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		return map[string]int{"n": 1}, nil
	}
	s.Handle("POST /api/v1/change", ok, RoleEditor)
	s.HandleQuery("POST /api/v1/query", ok, RoleEditor)
	editor := WithPrincipal(context.Background(), Principal{UserID: "u", Role: RoleEditor})
	viewer := WithPrincipal(context.Background(), Principal{UserID: "v", Role: RoleViewer})
	for _, ctx := range []context.Context{editor, viewer} {
		for _, path := range []string{"/api/v1/change", "/api/v1/query"} {
			s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, "POST", path, nil))
		}
	}
	if len(rec.paths) != 2 || rec.paths[0] != "/api/v1/change" || rec.paths[1] != "/api/v1/change" {
		t.Errorf("audited %v, want the change twice (allowed and refused) and no query", rec.paths)
	}
}
