package console

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// Every state-changing console route, whatever area it belongs to,
// refuses a request without a session, without the session's CSRF token,
// or from a role it does not allow (a viewer changes nothing) — before
// its handler runs.
func TestEveryChangeIsGuarded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.addCampaigns(t)
	b.withJobs(t)
	b.withEvents(t)
	params := regexp.MustCompile(`\{[^}]+\}`)
	// The areas register their routes in New; phones only with a
	// simulation, and it changes nothing.
	var changes []route
	for _, r := range b.console.registered {
		if method, _, _ := strings.Cut(r.Pattern, " "); method != http.MethodGet {
			changes = append(changes, r)
		}
	}
	if len(changes) < 15 {
		t.Fatalf("only %d state-changing routes recorded: %v", len(changes), changes)
	}
	logins := map[admin.Role]*browser{}
	for _, role := range admin.Roles() {
		br := b.browser(t)
		br.mustLogin(b.users[role].Name)
		logins[role] = br
	}
	csrfOf := func(br *browser) string { return br.csrf(br.do("GET", "/console/", nil).body) }
	for _, r := range changes {
		method, pattern, _ := strings.Cut(r.Pattern, " ")
		path := params.ReplaceAllString(pattern, "x")
		if strings.HasSuffix(pattern, "/{action}") || strings.HasSuffix(pattern, "/{verb}") {
			path = strings.TrimSuffix(path, "/x") + "/pause"
		}
		form := url.Values{"name": {"x"}, "title": {"x"}}

		if got := b.browser(t).do(method, path, form); got.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s without a session: %d, want 403", method, path, got.StatusCode)
		}
		admin := logins[admin.RoleAdmin]
		if got := admin.do(method, path, form); got.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s without the CSRF token: %d, want 403", method, path, got.StatusCode)
		}
		bad := url.Values{"csrf": {strings.Repeat("0", 64)}, "name": {"x"}}
		if got := admin.do(method, path, bad); got.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s with a wrong CSRF token: %d, want 403", method, path, got.StatusCode)
		}
		for role, br := range logins {
			if role == "admin" || slices.Contains(r.Roles, role) {
				continue
			}
			f := url.Values{"csrf": {csrfOf(br)}, "name": {"x"}, "title": {"x"}}
			if got := br.do(method, path, f); got.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403", method, path, role, got.StatusCode)
			}
		}
	}
	// The viewer may only log out.
	for _, r := range changes {
		if slices.Contains(r.Roles, admin.RoleViewer) && !strings.Contains(r.Pattern, "/logout") {
			t.Errorf("%s lets a viewer change something", r.Pattern)
		}
	}
}

// Routes that change something are registered through handle, so the
// test above sees them all; only the login form (no session yet) is not.
func TestNoUnguardedChanges(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	raw := regexp.MustCompile(`mux\.Handle(?:Func)?\("(POST|PUT|PATCH|DELETE) ([^"]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range raw.FindAllStringSubmatch(string(src), -1) {
			if m[2] != "/console/login" {
				t.Errorf("%s: %s %s is registered on the mux directly, not through handle", f, m[1], m[2])
			}
		}
	}
}
