package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The account switcher: a user of two of the three accounts picks one in
// the header and sees that account's library only, with their role there,
// then the other; the account they do not belong to is not offered (the
// console's TestAccountMembership checks it is refused). A user of one
// account has no switcher at all.
func TestBrowserAccountSwitch(t *testing.T) {
	ctx := newBrowser(t, 120*time.Second)
	m := startAccounts(t)
	const pw = "browser-test-password"
	titles := map[string]string{"agri": "荔枝冬季清园技巧", "town": "荔枝采后保鲜方法", "default": "荔枝花期管理要点"}
	for id, title := range titles {
		m.publish(id, title)
	}
	user := func(name string, accounts map[string]string) {
		code, u := m.api("POST", "/api/v1/users", "admintoken", map[string]any{"name": name, "accounts": accounts})
		if code != 201 {
			t.Fatalf("create %s: %d %v", name, code, u)
		}
		if err := m.app.console.SetPassword(context.Background(), u["id"].(string), pw); err != nil {
			t.Fatal(err)
		}
	}
	user("two-accounts", map[string]string{"agri": "organizer", "town": "viewer"})
	user("agri-only", map[string]string{"agri": "editor"})
	do, must := steps(t, ctx)

	must("login", login(ctx, m.base, "two-accounts", pw))
	options, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('select[name=account] option')].map(o => o.value)`))
	must("read the switcher", err)
	if strings.Join(options, ",") != "agri,town" {
		t.Fatalf("the switcher offers %v, want agri and town (the user's accounts)", options)
	}
	if names := text(t, ctx, "select[name=account]"); !strings.Contains(names, "农业局") || !strings.Contains(names, "派潭镇") {
		t.Errorf("the switcher names the accounts %q, want 农业局 and 派潭镇", names)
	}
	for _, id := range []string{"agri", "town", "agri"} {
		do("choose "+id, chromedp.SetValue(chromedp.CSS(`select[name=account]`), id))
		must("switch to "+id, submit(ctx, `form.account-pick button`))
		do("open the library", chromedp.Navigate(m.base+"/console/items"))
		page := text(t, ctx, "main")
		for other, title := range titles {
			if has := strings.Contains(page, title); has != (other == id) {
				t.Errorf("library after switching to %s: shows %s's item %v, want %v", id, other, has, other == id)
			}
		}
		who := text(t, ctx, ".who")
		wantRole := map[string]string{"agri": "组织者", "town": "只读"}[id]
		if !strings.Contains(who, wantRole) {
			t.Errorf("in %s the header says %q, want the role there (%s)", id, who, wantRole)
		}
		screenshot(t, ctx, "account-"+id+".png")
	}
	must("logout", logout(ctx))

	must("login agri-only", login(ctx, m.base, "agri-only", pw))
	switchers, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('select[name=account]').length`))
	must("look for a switcher", err)
	if switchers != 0 {
		t.Errorf("a user of one account sees a switcher")
	}
	do("open the library", chromedp.Navigate(m.base+"/console/items"))
	if page := text(t, ctx, "main"); !strings.Contains(page, titles["agri"]) || strings.Contains(page, titles["town"]) {
		t.Errorf("agri-only's library: %q", page)
	}
}
