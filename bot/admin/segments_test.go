package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

type segmentBundle struct {
	srv *httptest.Server
}

// roleAuth maps a bearer token to a role: "<role>-token".
func roleAuth() Authenticator {
	return AuthenticatorFunc(func(_ context.Context, token string) (Principal, error) {
		role, ok := strings.CutSuffix(token, "-token")
		if !ok || !ValidRole(Role(role)) {
			return Principal{}, ErrUnauthorized
		}
		p := Principal{UserID: "u-" + role, Name: role, Role: Role(role)}
		if p.Role == RoleOrganizer {
			p.Department = "科协科普部" // the default of the campaigns and bookings it makes
		}
		return p, nil
	})
}

func setupSegments(t *testing.T) *segmentBundle {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.Start(t)
	loc := time.FixedZone("CST", 8*3600)
	ps, err := profile.NewStore(ctx, rdb, loc)
	if err != nil {
		t.Fatal(err)
	}
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 5, 10, 9, 0, 0, 0, loc)
	// Six subscribers: four farmers in 派潭 (one unsubscribed, one opted
	// out), a worker there and a farmer in 正果.
	subs := []struct {
		group, town          string
		subscribed, optedOut bool
	}{
		{"farmer", "paitan", true, false},
		{"farmer", "paitan", true, false},
		{"farmer", "paitan", false, false},
		{"farmer", "paitan", true, true},
		{"worker", "paitan", true, false},
		{"farmer", "zhengguo", true, false},
	}
	var list []*profile.Profile
	for i, s := range subs {
		p := &profile.Profile{OpenID: fmt.Sprintf("oAdminSeg%02d", i), Group: s.group, Town: s.town,
			Subscribed: s.subscribed, OptedOut: s.optedOut, CreatedAt: now, LastActiveAt: now}
		p.SetInterest("litchi", profile.WeightChosen)
		list = append(list, p)
	}
	if _, err := ps.Import(ctx, "default", list); err != nil {
		t.Fatal(err)
	}
	s := NewServer(roleAuth(), nil)
	s.SetAccounts([]string{"default"})
	RegisterSegments(s, SegmentDeps{Profiles: ps, Tax: tax, Segments: segment.NewStore(rdb, tax),
		Now: func() time.Time { return now }, Loc: loc})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &segmentBundle{srv: srv}
}

// do sends a request as role ("" = no token) and decodes the JSON answer.
func (b *segmentBundle) do(t *testing.T, role, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+role+"-token")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if res.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatalf("%s %s: decode answer: %v", method, path, err)
		}
	}
	return res.StatusCode, out
}

func TestSegmentPreview(t *testing.T) {
	t.Parallel()
	b := setupSegments(t)
	tests := []struct {
		name, role, body string
		status           int
		want             string // JSON the answer must contain (as a subset)
	}{
		{"farmers in paitan", "viewer", `{"expr": "group:farmer & town:派潭"}`, 200,
			`{"expr": "group:farmer & town:paitan", "count": 2, "by_town": {"paitan": 2, "zhengguo": 0}, "by_group": {"farmer": 2, "worker": 0}}`},
		{"everyone reachable", "organizer", `{"expr": ""}`, 200,
			`{"expr": "all", "count": 4, "by_town": {"paitan": 3, "zhengguo": 1}, "by_group": {"farmer": 3, "worker": 1}}`},
		{"asking for the unreachable counts nobody", "editor", `{"expr": "opted_out | !subscribed"}`, 200,
			`{"count": 0}`},
		{"cross", "reviewer", `{"expr": "interest:litchi & active:7d", "cross": true}`, 200,
			`{"count": 4, "by_town_group": {"paitan": {"farmer": 2, "worker": 1}, "zhengguo": {"farmer": 1, "worker": 0}}}`},
		{"bad town", "viewer", `{"expr": "group:farmer & town:patan"}`, 400,
			`{"position": 20, "error": "unknown town \"patan\" at 20; did you mean paitan (派潭镇)?"}`},
		{"syntax", "viewer", `{"expr": "(group:farmer"}`, 400, `{"position": 13}`},
		{"unknown field", "viewer", `{"exp": "all"}`, 400, `{}`},
		{"no token", "", `{"expr": "all"}`, 401, `{"error": "missing or invalid token"}`},
	}
	for _, tt := range tests {
		status, got := b.do(t, tt.role, "POST", "/api/v1/segments/preview", tt.body)
		if status != tt.status {
			t.Errorf("%s: status = %d (%v), want %d", tt.name, status, got, tt.status)
			continue
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if !contains(got, want) {
			t.Errorf("%s: answer = %v, want it to contain %v", tt.name, got, want)
		}
		if tt.status == 200 && !strings.Contains(tt.body, `"cross": true`) {
			if _, ok := got["by_town_group"]; ok {
				t.Errorf("%s: by_town_group present without cross", tt.name)
			}
		}
	}
}

// contains reports whether got has every key of want with an equal value
// (recursively for objects).
func contains(got, want map[string]any) bool {
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			return false
		}
		if wm, isMap := w.(map[string]any); isMap {
			gm, _ := g.(map[string]any)
			if !contains(gm, wm) {
				return false
			}
			continue
		}
		if fmt.Sprint(g) != fmt.Sprint(w) {
			return false
		}
	}
	return true
}

func TestSavedSegmentRoutes(t *testing.T) {
	t.Parallel()
	b := setupSegments(t)
	steps := []struct {
		role, method, path, body string
		status                   int
		want                     string
	}{
		{"organizer", "POST", "/api/v1/segments", `{"name": "paitan-farmers", "expr": "group:农民 & town:派潭"}`, 201,
			`{"name": "paitan-farmers", "expr": "group:farmer & town:paitan", "created_by": "u-organizer", "created_at": "2027-05-10T01:00:00Z"}`},
		{"organizer", "POST", "/api/v1/segments", `{"name": "paitan-farmers", "expr": "all"}`, 409, `{}`},
		{"organizer", "POST", "/api/v1/segments", `{"name": "Bad Name", "expr": "all"}`, 400, `{"fields": {"name": "use 1-40 of a-z, 0-9, _ and -"}}`},
		{"organizer", "POST", "/api/v1/segments", `{"name": "typo", "expr": "grop:farmer"}`, 400, `{"position": 0}`},
		{"viewer", "POST", "/api/v1/segments", `{"name": "mine", "expr": "all"}`, 403, `{}`},
		{"editor", "POST", "/api/v1/segments", `{"name": "mine", "expr": "all"}`, 403, `{}`},
		{"admin", "POST", "/api/v1/segments", `{"name": "everyone", "expr": ""}`, 201, `{"expr": "all", "created_by": "u-admin"}`},
		{"", "GET", "/api/v1/segments", ``, 401, `{}`},
		{"viewer", "GET", "/api/v1/segments/paitan-farmers", ``, 200, `{"expr": "group:farmer & town:paitan"}`},
		{"viewer", "GET", "/api/v1/segments/nope", ``, 404, `{}`},
		{"viewer", "DELETE", "/api/v1/segments/everyone", ``, 403, `{}`},
		{"organizer", "DELETE", "/api/v1/segments/everyone", ``, 204, ``},
		{"organizer", "DELETE", "/api/v1/segments/everyone", ``, 404, `{}`},
		{"organizer", "GET", "/api/v1/segments?account=Bad!", ``, 400, `{}`},
	}
	for _, st := range steps {
		status, got := b.do(t, st.role, st.method, st.path, st.body)
		if status != st.status {
			t.Fatalf("%s %s as %q: status = %d (%v), want %d", st.method, st.path, st.role, status, got, st.status)
		}
		if st.want == "" {
			continue
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(st.want), &want); err != nil {
			t.Fatal(err)
		}
		if !contains(got, want) {
			t.Errorf("%s %s: answer = %v, want it to contain %v", st.method, st.path, got, want)
		}
	}
	status, got := b.do(t, "viewer", "GET", "/api/v1/segments", "")
	list, _ := got["segments"].([]any)
	if status != 200 || len(list) != 1 || list[0].(map[string]any)["name"] != "paitan-farmers" {
		t.Errorf("GET /api/v1/segments = %d %v, want just paitan-farmers", status, got)
	}
}
