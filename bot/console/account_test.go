package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/content"
)

// With several WeChat accounts, the account chosen in the header (a
// cookie) is the one every page and every API call works on, including
// forms that do not name it; an unknown account is refused.
func TestAccountChoice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := b.console.cfg
	cfg.Accounts = []string{"default", "science"}
	two, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(two.Handler())
	t.Cleanup(srv.Close)
	editor := b.browser(t)
	editor.base = srv.URL
	page := editor.mustLogin(b.users[admin.RoleEditor].Name)
	if !strings.Contains(page, `name="account"`) || !strings.Contains(page, `<option value="science"`) {
		t.Fatal("the header offers no choice of account")
	}
	if r := editor.do("GET", "/console/items?account=science", nil); r.StatusCode != http.StatusOK ||
		!strings.Contains(r.body, `<option value="science" selected>`) {
		t.Fatalf("choosing science: %d", r.StatusCode)
	}
	// The form's action names no account: the choice holds.
	form := editor.do("GET", "/console/items/new", nil)
	r := editor.do("POST", "/console/items", litchiForm(editor.csrf(form.body)))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create = %d:\n%s", r.StatusCode, r.body)
	}
	id := strings.TrimPrefix(r.Header.Get("Location"), "/console/items/")
	if _, err := b.content.Item(b.ctx, "science", id); err != nil {
		t.Errorf("the item is not in the chosen account: %v", err)
	}
	if _, err := b.content.Item(b.ctx, "default", id); err == nil {
		t.Error("the item landed in the default account too")
	}
	if r := editor.do("GET", "/console/items/"+id, nil); r.StatusCode != http.StatusOK {
		t.Errorf("the item page in the chosen account = %d", r.StatusCode)
	}
	if r := editor.do("GET", "/console/items?account=nosuch", nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown account = %d, want 400", r.StatusCode)
	}
	// A console of one account offers no choice and refuses another.
	single := b.browser(t)
	if page := single.mustLogin(b.users[admin.RoleViewer].Name); strings.Contains(page, `name="account"`) {
		t.Error("a one-account console offers a choice")
	}
	if r := single.do("GET", "/console/items?account=science", nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("another account on a one-account console = %d, want 400", r.StatusCode)
	}
}

// A user of some accounts works in those only, with their role there:
// another account is refused (403) on pages and forms alike and changes
// nothing, and the users and audit pages are for deployment-wide admins,
// not for an admin of one account.
func TestAccountMembership(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := b.console.cfg
	cfg.Accounts = []string{"default", "science"}
	two, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	two.acc.cost = bcrypt.MinCost
	srv := httptest.NewServer(two.Handler())
	t.Cleanup(srv.Close)
	users := b.console.cfg.Users
	nu, err := users.CreateIn(b.ctx, "science-admin", "", map[string]admin.Role{"science": admin.RoleAdmin}, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := two.SetPassword(b.ctx, nu.ID, testPassword); err != nil {
		t.Fatal(err)
	}
	br := b.browser(t)
	br.base = srv.URL
	page := br.mustLogin("science-admin")
	if strings.Contains(page, `name="account"`) || strings.Contains(page, `href="/console/users"`) {
		t.Errorf("a one-account admin is offered a switcher or the users page:\n%s", page)
	}
	for _, path := range []string{"/console/items?account=default", "/console/users", "/console/audit"} {
		if r := br.do("GET", path, nil); r.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as science's admin = %d, want 403", path, r.StatusCode)
		}
	}
	form := br.do("GET", "/console/items/new", nil)
	if r := br.do("POST", "/console/items?account=default", litchiForm(br.csrf(form.body))); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST an item into default as science's admin = %d, want 403", r.StatusCode)
	}
	if items, total, err := b.content.Items(b.ctx, "default", content.ItemFilter{}); err != nil || total != 0 {
		t.Errorf("items in default after a refused POST: %d %v", len(items), err)
	}
	if r := br.do("GET", "/console/items", nil); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "管理员") {
		t.Errorf("science's own library = %d, want 200 as 管理员", r.StatusCode)
	}
}
