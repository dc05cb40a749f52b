package console

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign/campaigntest"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// delivery is the campaign side of a console test: the API's campaign
// routes over a real engine and queue, with workers started on demand.
type delivery struct {
	queue  *queue.Queue
	engine *campaign.Engine
	sender *campaigntest.Sender
	links  *campaign.Links
}

// The click tracker's public address and the notice template of the
// tests' engine, as the app configures them.
const (
	trackerBase    = "https://kb.example.org"
	noticeTemplate = "tmplNotice"
)

func (b *bundle) addCampaigns(t testing.TB) *delivery {
	t.Helper()
	clock := func() time.Time { return b.now }
	q, err := queue.New(b.rdb, queue.Options{Name: "default", Now: clock, PollInterval: 20 * time.Millisecond,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	compile := func(expr string, at time.Time) (profile.Program, error) {
		e, err := segment.Parse(expr, b.tax)
		if err != nil {
			return nil, err
		}
		return e.Compile(at, time.UTC), nil
	}
	d := &delivery{queue: q, sender: campaigntest.NewSender()}
	if d.links, err = campaign.NewLinks(b.ctx, b.rdb, trackerBase); err != nil {
		t.Fatal(err)
	}
	items := campaign.StoreItems{Store: b.content}
	d.engine = campaign.New(campaign.Config{Store: b.camps, Profiles: b.profiles, Items: items,
		Queue:   func(string) *queue.Queue { return q },
		Sender:  func(string) (campaign.Sender, error) { return d.sender, nil },
		Compile: compile,
		Rules: func(string) plan.Rules {
			return plan.Rules{AccountType: plan.ServiceAccount, TemplateConfigured: true, Loc: time.UTC}
		},
		Links: d.links, Template: noticeTemplate,
		Loc: time.UTC, Now: clock})
	var towns, groups []string
	for _, tw := range b.tax.Towns {
		towns = append(towns, tw.ID)
	}
	for _, g := range b.tax.Groups {
		groups = append(groups, g.ID)
	}
	b.console.cfg.Engine = d.engine // the list's and dashboard's stats
	admin.RegisterCampaigns(b.api, admin.CampaignDeps{Store: b.camps, Engine: d.engine, Compile: compile,
		Item: items.Item, Queue: func(string) *queue.Queue { return q }, Towns: towns, Groups: groups, Now: clock})
	return d
}

// run starts workers until stop is called (or the test ends).
func (d *delivery) run(t *testing.T) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.queue.Run(ctx, "console-test", 2, d.engine)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// publishedItem creates an item and takes it through review to published.
func (b *bundle) publishedItem(t *testing.T, title string) content.Item {
	t.Helper()
	it, err := b.content.CreateItem(b.ctx, "default", content.Item{
		Title: title, Summary: "花期不要喷杀虫剂，放蜂帮助授粉。", Short: "花期别打药，放蜂授粉",
		URL: "https://kepu.example.org/a/1", Source: "广东省农业农村厅", Priority: 50,
		Audience: content.Audience{Groups: []string{"farmer"}, Towns: []string{"paitan"}, Topics: []string{"litchi"}},
	}, b.users[admin.RoleEditor].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		a  content.Action
		by admin.Role
	}{{content.ActionSubmit, admin.RoleEditor}, {content.ActionApprove, admin.RoleReviewer}, {content.ActionPublish, admin.RoleReviewer}} {
		if it, err = b.content.Transition(b.ctx, "default", it.ID, step.a, b.users[step.by].ID, ""); err != nil {
			t.Fatalf("%s: %v", step.a, err)
		}
	}
	return it
}

// district imports farmers in 派潭 — windowed ones wrote within 48 hours
// (customer-service message), the rest did not (mass) — and others who
// are not in the audience. It returns the windowed and the mass openids.
func (b *bundle) district(t *testing.T) (windowed, mass []string) {
	t.Helper()
	var ps []*profile.Profile
	add := func(n int, group, town string, subscribed bool, wrote time.Time) []string {
		var ids []string
		for range n {
			id := fmt.Sprintf("oCamp%023d", len(ps))
			ps = append(ps, &profile.Profile{OpenID: id, Group: group, Town: town, Subscribed: subscribed,
				CreatedAt: b.now.AddDate(0, -1, 0), LastActiveAt: wrote, LastMessageAt: wrote})
			ids = append(ids, id)
		}
		return ids
	}
	windowed = add(4, "farmer", "paitan", true, b.now.Add(-time.Hour))
	mass = add(6, "farmer", "paitan", true, b.now.AddDate(0, 0, -10))
	add(2, "farmer", "paitan", false, b.now) // unsubscribed
	add(3, "worker", "paitan", true, b.now.Add(-time.Hour))
	add(3, "farmer", "xintang", true, b.now.Add(-time.Hour))
	if _, err := b.profiles.Import(b.ctx, "default", ps); err != nil {
		t.Fatal(err)
	}
	return windowed, mass
}

var campaignLocation = regexp.MustCompile(`^/console/campaigns/(c\d+)$`)

func TestCampaignCompose(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.addCampaigns(t)
	windowed, mass := b.district(t)
	it := b.publishedItem(t, "荔枝花期管理要点")
	draft, err := b.content.CreateItem(b.ctx, "default", content.Item{Title: "还在写的稿子", Summary: "未完成",
		URL: "https://kepu.example.org/a/2", Source: "增城区科协", Audience: content.Audience{Topics: []string{"litchi"}}}, b.users[admin.RoleEditor].ID)
	if err != nil {
		t.Fatal(err)
	}

	org := b.browser(t)
	org.mustLogin("organizer-user")
	compose := org.do("GET", "/console/campaigns/new", nil)
	if compose.StatusCode != http.StatusOK || !strings.Contains(compose.body, `<option value="`+it.ID+`">荔枝花期管理要点</option>`) {
		t.Fatalf("composer = %d, want 200 offering the published item:\n%s", compose.StatusCode, compose.body)
	}
	if strings.Contains(compose.body, draft.Title) {
		t.Error("the composer offers an unpublished item")
	}
	form := url.Values{"csrf": {org.csrf(compose.body)}, "name": {"派潭荔枝花期提醒"}, "mode": {"item"}, "item_id": {it.ID},
		"expr": {"group:farmer & town:paitan"}}

	// A viewer cannot create; nor can anyone without the token.
	viewer := b.browser(t)
	vpage := viewer.mustLogin("viewer-user")
	vform := url.Values{}
	for k, v := range form {
		vform[k] = v
	}
	vform.Set("csrf", viewer.csrf(vpage))
	if r := viewer.do("POST", "/console/campaigns", vform); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer creates a campaign: %d, want 403", r.StatusCode)
	}
	noToken := url.Values{}
	for k, v := range form {
		noToken[k] = v
	}
	noToken.Del("csrf")
	if r := org.do("POST", "/console/campaigns", noToken); r.StatusCode != http.StatusForbidden {
		t.Errorf("create without csrf: %d, want 403", r.StatusCode)
	}
	if r := viewer.do("GET", "/console/campaigns/new", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer opens the composer: %d, want 403", r.StatusCode)
	}
	// A bad audience is explained with its position and creates nothing.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("expr", "group:farmer & town:patan")
	if r := org.do("POST", "/console/campaigns", bad); r.StatusCode != http.StatusBadRequest ||
		!strings.Contains(r.body, "没有这个镇街") || !strings.Contains(r.body, "<mark>p</mark>atan") {
		t.Errorf("create with a bad audience = %d, want 400 explaining it:\n%s", r.StatusCode, r.body)
	}
	// So is an unpublished item.
	bad.Set("expr", "group:farmer")
	bad.Set("item_id", draft.ID)
	if r := org.do("POST", "/console/campaigns", bad); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "请选择一条已发布的内容") {
		t.Errorf("create with an unpublished item = %d, want 400 asking for a published one:\n%s", r.StatusCode, r.body)
	}
	if list, _ := b.camps.List(b.ctx, "default", 10); len(list) != 0 {
		t.Fatalf("refused creates created %d campaigns", len(list))
	}

	r := org.do("POST", "/console/campaigns", form)
	m := campaignLocation.FindStringSubmatch(r.Header.Get("Location"))
	if r.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("create = %d %q, want 303 to the campaign:\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	id, path := m[1], m[0]
	c, err := b.camps.Get(b.ctx, "default", id)
	if err != nil || c.Status != campaign.StatusDraft || c.Audience != "group:farmer & town:paitan" || c.ItemID != it.ID ||
		c.CreatedBy != b.users[admin.RoleOrganizer].ID {
		t.Fatalf("created %+v, %v; want a draft to farmers in paitan with the item", c, err)
	}

	// The draft's page: the channel plan and a persona's phone.
	page := org.do("GET", path, nil)
	reachable := len(windowed) + len(mass)
	for _, want := range []string{"发送计划", `<span class="big">` + fmt.Sprint(reachable) + `</span> 人在受众内`,
		"<td>客服消息</td><td>4</td>", "<td>群发消息</td><td>6</td>", "立即发送", "定时发送", `class="phone"`, "荔枝花期管理要点"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("draft page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "oCamp") {
		t.Error("the draft page shows openids")
	}
	var sawCustom, sawMass bool
	for n := 1; n <= reachable; n++ {
		p := org.do("GET", fmt.Sprintf("%s?persona=%d", path, n), nil).body
		switch {
		case strings.Contains(p, "48 小时内互动过，用客服消息"):
			sawCustom = strings.Contains(p, `<div class="news-title">荔枝花期管理要点</div>`) &&
				strings.Contains(p, `<div class="news-summary">花期不要喷杀虫剂，放蜂帮助授粉。</div>`)
		case strings.Contains(p, "超过 48 小时没有互动，用群发"):
			sawMass = strings.Contains(p, "【增城科普】荔枝花期管理要点\n花期不要喷杀虫剂")
		}
	}
	if !sawCustom || !sawMass {
		t.Errorf("persona previews: a customer-service news card %v, a mass text %v; want both", sawCustom, sawMass)
	}
	// A persona by group and town: workers are not in this audience.
	if p := org.do("GET", path+"?group=worker&town=paitan", nil).body; !strings.Contains(p, "样本中没有这个人群和镇街的关注者") {
		t.Error("a persona outside the audience is not explained")
	}
	if p := org.do("GET", path+"?group=farmer&town=paitan", nil).body; !strings.Contains(p, `<p class="phone-who">农民 · 派潭镇`) {
		t.Error("a persona by group and town shows no phone")
	} else if !strings.Contains(p, "为什么是这条：") || !strings.Contains(p, "适合其人群（6 分）") || !strings.Contains(p, "预计打开的可能") {
		t.Error("a persona's phone does not say why that item (the plan's factors)")
	}

	// A viewer sees the campaign but cannot start it.
	if p := viewer.do("GET", path, nil); p.StatusCode != http.StatusOK || strings.Contains(p.body, "立即发送") {
		t.Errorf("viewer's campaign page = %d, want 200 without actions", p.StatusCode)
	}
	for _, action := range []string{"start", "cancel"} {
		if r := viewer.do("POST", path+"/"+action, url.Values{"csrf": {viewer.csrf(vpage)}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("viewer %s: %d, want 403", action, r.StatusCode)
		}
	}
	if r := org.do("POST", path+"/start", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("start without csrf: %d, want 403", r.StatusCode)
	}
	if c, _ := b.camps.Get(b.ctx, "default", id); c.Status != campaign.StatusDraft {
		t.Fatalf("after refused starts the campaign is %s, want draft", c.Status)
	}

	// Send it now; the engine's workers deliver it.
	stop := d.run(t)
	if r := org.do("POST", path+"/start", url.Values{"csrf": {org.csrf(page.body)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("start = %d, want 303:\n%s", r.StatusCode, r.body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err = b.camps.Get(b.ctx, "default", id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == campaign.StatusDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign still %s after 20 s", c.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	d.sender.Lock()
	if len(d.sender.News) != len(windowed) || len(d.sender.Lists) != 1 || len(d.sender.Lists[0]) != len(mass) {
		t.Errorf("sent %d news and mass lists %v; want %d news and one list of %d", len(d.sender.News), d.sender.Lists, len(windowed), len(mass))
	}
	d.sender.Unlock()

	page = org.do("GET", path, nil)
	for _, want := range []string{"已完成", "发送结果", "计划<span class=\"big\">10</span>", "已发送<span class=\"big\">10</span>",
		"<td>客服消息</td><td>4</td>", "<td>群发消息</td><td>6</td>", "<td>派潭镇</td><td>10</td>", "<td>农民</td><td>10</td>", "export.csv"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("campaign page after sending lacks %q", want)
		}
	}
	if strings.Contains(page.body, "立即发送") || strings.Contains(page.body, "暂停") {
		t.Error("a done campaign offers start or pause")
	}
	list := org.do("GET", "/console/campaigns", nil)
	if !strings.Contains(list.body, "派潭荔枝花期提醒") || !strings.Contains(list.body, "<td>10</td><td>10</td><td>0</td><td>0.0%</td>") {
		t.Errorf("campaign list lacks the campaign with planned 10, sent 10, 0 clicks:\n%s", list.body)
	}

	csv := org.do("GET", path+"/export.csv", nil)
	if csv.StatusCode != http.StatusOK || !strings.HasPrefix(csv.body, "\uFEFF分类,项目,人数") ||
		!strings.Contains(csv.body, "总计,已发送,10") || !strings.Contains(csv.body, "渠道,群发消息,6") ||
		!strings.Contains(csv.body, "镇街（已发送）,派潭镇,10") || strings.Contains(csv.body, "oCamp") ||
		!strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("export.csv = %d %q:\n%s", csv.StatusCode, csv.Header.Get("Content-Type"), csv.body)
	}
}

func TestCampaignActions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.addCampaigns(t) // no workers: a started campaign stays running
	b.district(t)
	it := b.publishedItem(t, "荔枝花期管理要点")
	org := b.browser(t)
	org.mustLogin("organizer-user")
	create := func(name string) string {
		page := org.do("GET", "/console/campaigns/new?segment=&expr=group:farmer", nil)
		if !strings.Contains(page.body, `<span class="big">13</span> 人可以收到`) {
			t.Errorf("composer with ?expr= does not count the audience:\n%s", page.body)
		}
		r := org.do("POST", "/console/campaigns", url.Values{"csrf": {org.csrf(page.body)}, "name": {name}, "mode": {"item"},
			"item_id": {it.ID}, "expr": {"group:farmer"}})
		m := campaignLocation.FindStringSubmatch(r.Header.Get("Location"))
		if m == nil {
			t.Fatalf("create = %d, want 303:\n%s", r.StatusCode, r.body)
		}
		return m[1]
	}
	status := func(id string) campaign.Status {
		c, err := b.camps.Get(b.ctx, "default", id)
		if err != nil {
			t.Fatal(err)
		}
		return c.Status
	}
	post := func(id, action string, form url.Values) response {
		page := org.do("GET", "/console/campaigns/"+id, nil)
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", org.csrf(page.body))
		return org.do("POST", "/console/campaigns/"+id+"/"+action, form)
	}

	running := create("暂停与继续")
	for _, step := range []struct {
		action string
		code   int
		want   campaign.Status
	}{
		{"pause", http.StatusConflict, campaign.StatusDraft}, // not running yet
		{"start", http.StatusSeeOther, campaign.StatusRunning},
		{"start", http.StatusConflict, campaign.StatusRunning},
		{"pause", http.StatusSeeOther, campaign.StatusPaused},
		{"resume", http.StatusSeeOther, campaign.StatusRunning},
		{"cancel", http.StatusSeeOther, campaign.StatusCancelled},
		{"resume", http.StatusConflict, campaign.StatusCancelled},
		{"explode", http.StatusNotFound, campaign.StatusCancelled},
	} {
		r := post(running, step.action, nil)
		if r.StatusCode != step.code || status(running) != step.want {
			t.Errorf("%s: %d, campaign %s; want %d, %s", step.action, r.StatusCode, status(running), step.code, step.want)
		}
		if step.code == http.StatusConflict && !strings.Contains(r.body, "当前状态下不能进行此操作") {
			t.Errorf("%s refused without saying why", step.action)
		}
	}

	// 定时发送: the time is the district's.
	later := create("定时")
	for _, tc := range []struct{ sendAt, want string }{
		{"", "请填写发送时间"},
		{b.now.Add(-time.Hour).Format("2006-01-02T15:04"), "发送时间必须晚于现在"},
	} {
		if r := post(later, "schedule", url.Values{"send_at": {tc.sendAt}}); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, tc.want) {
			t.Errorf("schedule at %q = %d, want 400 %s", tc.sendAt, r.StatusCode, tc.want)
		}
	}
	at := b.now.Add(26 * time.Hour).Truncate(time.Minute)
	if r := post(later, "schedule", url.Values{"send_at": {at.Format("2006-01-02T15:04")}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("schedule = %d, want 303:\n%s", r.StatusCode, r.body)
	}
	c, _ := b.camps.Get(b.ctx, "default", later)
	if c.Status != campaign.StatusScheduled || c.SendAt == nil || !c.SendAt.Equal(at) {
		t.Errorf("scheduled campaign = %s at %v, want scheduled at %v", c.Status, c.SendAt, at)
	}
	page := org.do("GET", "/console/campaigns/"+later, nil).body
	if !strings.Contains(page, "已排期") || !strings.Contains(page, at.Format("2006-01-02 15:04")) || strings.Contains(page, "定时发送</button>") {
		t.Errorf("scheduled campaign page does not show its time, or offers to schedule again:\n%s", page)
	}
	if r := post(later, "cancel", nil); r.StatusCode != http.StatusSeeOther || status(later) != campaign.StatusCancelled {
		t.Errorf("cancel the scheduled campaign: %d %s", r.StatusCode, status(later))
	}

	// An A/B campaign's page lists its versions (nothing sent yet: no
	// workers) and the holdout that gets the winner.
	ab, err := d.engine.Create(b.ctx, "default", campaign.Draft{Name: "两个标题", ItemID: it.ID, Audience: "group:farmer",
		Variants: []campaign.Variant{{ItemID: it.ID}, {Title: "荔枝开花别打药", Summary: "花期放蜂授粉"}}, WinnerAfter: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if r := post(ab.ID, "start", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("start the A/B campaign = %d:\n%s", r.StatusCode, r.body)
	}
	page = org.do("GET", "/console/campaigns/"+ab.ID, nil).body
	for _, want := range []string{"A/B 版本", "<td>版本 A</td><td>0</td><td>0</td><td>暂无</td><td>暂无</td>",
		"<td>版本 B：荔枝开花别打药</td>", "<td>其余的人（发胜出的版本）</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the A/B campaign's page lacks %q", want)
		}
	}
	if page := org.do("GET", "/console/campaigns/"+later, nil).body; strings.Contains(page, "A/B 版本") {
		t.Error("a campaign without variants shows an A/B table")
	}
}

// The A/B rows: each version's sends, clicks, click-through and interval,
// the winner marked, the holdout named.
func TestVariantLines(t *testing.T) {
	t.Parallel()
	lo, hi := campaign.Wilson(12, 40)
	lo2, hi2 := campaign.Wilson(4, 40)
	got := variantLines([]campaign.VariantStats{
		{Sent: 40, Clicks: 12, CTR: 0.3, CILow: lo, CIHigh: hi, Winner: true},
		{Title: "别打药", Sent: 40, Clicks: 4, CTR: 0.1, CILow: lo2, CIHigh: hi2},
		{Holdout: true},
	})
	want := []variantLine{
		{Name: "版本 A", Sent: 40, Clicks: 12, CTR: "30.0%", CI: fmt.Sprintf("%.1f%%–%.1f%%", 100*lo, 100*hi), Winner: true},
		{Name: "版本 B：别打药", Sent: 40, Clicks: 4, CTR: "10.0%", CI: fmt.Sprintf("%.1f%%–%.1f%%", 100*lo2, 100*hi2)},
		{Name: "其余的人（发胜出的版本）", CTR: "暂无", CI: "暂无"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("variantLines = %+v\nwant %+v", got, want)
	}
	if lo < 0.17 || hi > 0.46 || lo >= hi {
		t.Errorf("Wilson(12, 40) = %.3f–%.3f, want about 0.18–0.45", lo, hi)
	}
}

// phoneParts finds what a campaign page's phone shows.
var phoneParts = map[string]*regexp.Regexp{
	"custom":   regexp.MustCompile(`(?s)<div class="news-title">(.*?)</div>\s*<div class="news-summary">(.*?)</div>\s*<div class="news-link">(.*?)</div>`),
	"mass":     regexp.MustCompile(`(?s)<div class="bubble text">(.*?)</div>`),
	"template": regexp.MustCompile(`(?s)<div class="tmpl-row"><span>内容</span>(.*?)</div>\s*<div class="tmpl-row"><span>摘要</span>(.*?)</div>.*?<div class="tmpl-link">(.*?)</div>`),
}

// Each persona's phone on the campaign page shows exactly what the
// engine then sends that subscriber — the news card, the notice's fields
// and the mass text, with the same tracked links — and looking at the
// previews records no click.
func TestPhonePreviewIsWhatIsSent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.addCampaigns(t)
	windowed, mass := b.district(t)
	byID := map[profile.ID]string{} // the openid of each subscriber in the audience
	for _, o := range append(slices.Clone(windowed), mass...) {
		_, id, err := b.profiles.Get(b.ctx, "default", o)
		if err != nil {
			t.Fatal(err)
		}
		byID[id] = o
	}
	org := b.browser(t)
	org.mustLogin("organizer-user")
	d.run(t)
	for _, tc := range []struct {
		title  string
		notice bool
		want   map[string]int // previews by channel
	}{
		{"荔枝花期管理要点", false, map[string]int{"custom": len(windowed), "mass": len(mass)}},
		{"荔枝病虫害防治现场课", true, map[string]int{"custom": len(windowed), "template": len(mass)}},
	} {
		it := b.publishedItem(t, tc.title)
		compose := org.do("GET", "/console/campaigns/new", nil)
		form := url.Values{"csrf": {org.csrf(compose.body)}, "name": {tc.title}, "mode": {"item"}, "item_id": {it.ID},
			"expr": {"group:farmer & town:paitan"}}
		if tc.notice {
			form.Set("notice", "1")
		}
		r := org.do("POST", "/console/campaigns", form)
		m := campaignLocation.FindStringSubmatch(r.Header.Get("Location"))
		if m == nil {
			t.Fatalf("create = %d:\n%s", r.StatusCode, r.body)
		}
		id, path := m[1], m[0]

		// Every persona's phone, each link traced to its subscriber.
		type shown struct{ channel, a, b, link string }
		previews := map[string]shown{} // by openid; mass by its link
		var page string
		for n := 1; n <= len(windowed)+len(mass); n++ {
			page = org.do("GET", fmt.Sprintf("%s?persona=%d", path, n), nil).body
			var s shown
			for ch, re := range phoneParts {
				if p := re.FindStringSubmatch(page); p != nil {
					s.channel = ch
					p = append(p, "", "")
					s.a, s.b, s.link = html.UnescapeString(p[1]), html.UnescapeString(p[2]), html.UnescapeString(p[3])
				}
			}
			if s.channel == "mass" {
				s.link = s.a[strings.LastIndex(s.a, "：")+len("："):]
			}
			click, err := d.links.Parse(strings.TrimPrefix(s.link, trackerBase+"/r/"))
			if s.channel == "" || !strings.HasPrefix(s.link, trackerBase+"/r/") || err != nil || click.Campaign != id || click.Item != it.ID {
				t.Fatalf("persona %d: %+v shows no tracked link of this campaign (%+v, %v):\n%s", n, s, click, err, page)
			}
			switch {
			case s.channel == "mass" && click.ID == nil:
				previews["mass"] = s
			case s.channel != "mass" && click.ID != nil && byID[*click.ID] != "":
				previews[byID[*click.ID]] = s
			default:
				t.Fatalf("persona %d: %s link names subscriber %v", n, s.channel, click.ID)
			}
		}
		if !strings.Contains(page, "请勿打开") {
			t.Error("the phone does not warn that its link counts clicks")
		}
		if c, _ := b.camps.Get(b.ctx, "default", id); c != nil {
			if st, err := d.engine.Stats(b.ctx, c, nil, nil); err != nil || st.Clicks != 0 {
				t.Errorf("after the previews: %d clicks, %v; want none", st.Clicks, err)
			}
		}

		// Send it; what each subscriber got is what their phone showed.
		if r := org.do("POST", path+"/start", url.Values{"csrf": {org.csrf(page)}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("start = %d:\n%s", r.StatusCode, r.body)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if c, err := b.camps.Get(b.ctx, "default", id); err != nil || c.Status == campaign.StatusDone {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("campaign not done after 20 s")
			}
		}
		got := map[string]int{}
		d.sender.Lock()
		for _, o := range windowed {
			a, p := d.sender.News[o], previews[o]
			if p.channel == "custom" {
				got["custom"]++
			}
			if p.channel != "custom" || a.Title != p.a || a.Description != p.b || a.URL != p.link || a.Title != tc.title {
				t.Errorf("%s: phone %+v, sent news %+v", o, p, a)
			}
		}
		for _, o := range mass {
			if tc.notice {
				tm, p := d.sender.Templates[o], previews[o]
				if p.channel == "template" {
					got["template"]++
				}
				if p.channel != "template" || tm.TemplateID != noticeTemplate || tm.Data["thing1"] != p.a || tm.Data["thing2"] != p.b ||
					tm.URL != p.link || p.a != tc.title {
					t.Errorf("%s: phone %+v, sent notice %+v", o, p, tm)
				}
				continue
			}
			p := previews["mass"]
			text := d.sender.Texts[len(d.sender.Texts)-1]
			if p.channel != "mass" || text != p.a || !strings.HasPrefix(text, "【增城科普】"+tc.title+"\n") {
				t.Errorf("mass: phone %q, sent %q", p.a, text)
			}
			got["mass"] = len(mass)
		}
		d.sender.Unlock()
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: compared %v, want %v", tc.title, got, tc.want)
		}
	}
}
