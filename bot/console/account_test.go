package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
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
