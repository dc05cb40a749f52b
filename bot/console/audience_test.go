package console

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

func TestDescribeAudience(t *testing.T) {
	t.Parallel()
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ expr, want string }{
		{"group:farmer & town:paitan", "人群：农民 且 镇街：派潭镇"},
		{"group:farmer & town:(paitan|zhengguo) & interest:litchi & !opted_out", "人群：农民 且 镇街：派潭镇或正果镇 且 关注：荔枝 且 非已退订的"},
		{"town:派潭 | active:30d", "镇街：派潭镇 或 活跃：近 30 天互动过"},
		{"weird:x", "weird：x"},
	} {
		if got := describeAudience(tc.expr, tax); got != tc.want {
			t.Errorf("describeAudience(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func TestCampaignName(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{"daily-tip daily-tip@2027-05-17T00:00:00Z", "每日科普 · 2027-05-17 08:00"},
		{"farming-calendar 小满 it_12 farming-calendar@2027-05-21T07:00:00+08:00", "农事节气提醒 · 小满 · 2027-05-21 07:00"},
		{"荔枝花期提醒", "荔枝花期提醒"},
	} {
		if got := campaignName(tc.name, shanghai); got != tc.want {
			t.Errorf("campaignName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A page that is not there keeps the navigation for a logged-in user,
// and every page names the favicon, which is served.
func TestNotFoundKeepsNavigationAndFavicon(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	br.mustLogin(b.users[admin.RoleOrganizer].Name)
	r := br.do("GET", "/console/no-such-page", nil)
	if r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "<nav>") || !strings.Contains(r.body, "页面不存在") {
		t.Errorf("404 page: %d, nav %v:\n%s", r.StatusCode, strings.Contains(r.body, "<nav>"), r.body)
	}
	if !strings.Contains(r.body, `rel="icon" href="/console/static/favicon.svg"`) {
		t.Errorf("pages name no favicon")
	}
	if f := br.do("GET", "/console/static/favicon.svg", nil); f.StatusCode != http.StatusOK || !strings.Contains(f.body, "<svg") {
		t.Errorf("favicon: %d", f.StatusCode)
	}
	// Logged out: no navigation to show, still a page.
	if r := b.browser(t).do("GET", "/console/no-such-page", nil); r.StatusCode != http.StatusNotFound || strings.Contains(r.body, "<nav>") {
		t.Errorf("404 logged out: %d", r.StatusCode)
	}
}
