package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

// multi is a running kepubot serving three Official Accounts: the
// default one (the KEPUBOT_WECHAT_* variables) and agri and town (config
// file), each with its own AppID, token, phone and users.
type multi struct {
	*e2e
	ids    []string                     // the accounts, the default first
	apps   map[string]string            // account → AppID
	phones map[string]*wechattest.Phone // account → a phone talking to its webhook
	users  map[string]map[string]string // account → role → bearer token of a user of that account only
}

// startAccounts starts kepubot with three accounts and, in each, an
// editor, a reviewer and an organizer who belong to that account only.
func startAccounts(t *testing.T) *multi {
	t.Helper()
	n := appSeq.Add(1)
	var yaml strings.Builder
	yaml.WriteString("delivery:\n  per_day: 0\n  per_week: 0\naccounts:\n")
	extra := map[string]wechattest.Account{}
	// In a fixed order (the config's order is the console switcher's):
	// agri, then town.
	for _, a := range []struct{ id, name string }{{"agri", "农业局"}, {"town", "派潭镇"}} {
		id, name := a.id, a.name
		acct := wechattest.Account{AppID: fmt.Sprintf("wx%s%d", id, n), Secret: id + "-secret", Token: id + "token"}
		fake.AddAccount(acct)
		extra[id] = acct
		fmt.Fprintf(&yaml, "  - {id: %s, name: %s, app_id: %s, app_secret: %s, token: %s, api_base: %q}\n",
			id, name, acct.AppID, acct.Secret, acct.Token, fake.URL())
	}
	path := filepath.Join(t.TempDir(), "kepubot.yaml")
	if err := os.WriteFile(path, []byte(yaml.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startE2E(t, map[string]string{"KEPUBOT_CONFIG": path, "KEPUBOT_QUIET_HOURS": "off"})
	m := &multi{e2e: e, ids: []string{"default", "agri", "town"},
		apps:   map[string]string{"default": e.appID},
		phones: map[string]*wechattest.Phone{"default": e.phone},
		users:  map[string]map[string]string{}}
	for id, acct := range extra {
		m.apps[id] = acct.AppID
		m.phones[id] = wechattest.NewPhone(fake, acct, e.base+"/wechat/"+id, false)
	}
	for _, id := range m.ids {
		m.users[id] = map[string]string{}
		for _, role := range []string{"editor", "reviewer", "organizer", "admin"} {
			code, u := e.api("POST", "/api/v1/users", "admintoken", map[string]any{
				"name": id + "-" + role, "accounts": map[string]string{id: role}})
			if code != 201 {
				t.Fatalf("create %s of %s: %d %v", role, id, code, u)
			}
			m.users[id][role] = u["token"].(string)
		}
	}
	return m
}

// publish writes, reviews and publishes an item in account through the
// admin API, as that account's own people, and returns its id.
func (m *multi) publish(account, title string) string {
	m.t.Helper()
	u := m.users[account]
	code, it := m.api("POST", "/api/v1/items?account="+account, u["editor"], map[string]any{
		"title": title, "summary": title + "：要点。", "url": "https://kepu.example.org/a/" + account,
		"groups": []string{"farmer"}, "towns": []string{}, "topics": []string{"litchi"}, "source": "增城区科协"})
	if code != 201 {
		m.t.Fatalf("create item in %s: %d %v", account, code, it)
	}
	id := it["id"].(string)
	for _, step := range []struct{ verb, role string }{{"submit", "editor"}, {"approve", "reviewer"}, {"publish", "organizer"}} {
		if code, body := m.api("POST", "/api/v1/items/"+id+"/"+step.verb+"?account="+account, u[step.role], map[string]any{}); code != 200 {
			m.t.Fatalf("%s in %s: %d %v", step.verb, account, code, body)
		}
	}
	return id
}

// ask sends text from openID to account's webhook and returns the
// titles of the articles answered.
func ask(t *testing.T, p *wechattest.Phone, openID, text string) string {
	t.Helper()
	r, err := p.Text(context.Background(), openID, text)
	if err != nil || r.Status != 200 {
		t.Fatalf("Text(%q) = %d %v", text, r.Status, err)
	}
	out := r.Content
	for _, a := range r.Articles {
		out += "|" + a.Title
	}
	return out
}

// waitSearchReady waits (at most a minute: the word segmenter loads for
// seconds) until app answers searches in account.
func waitSearchReady(t *testing.T, app *App, accounts ...string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		ready := true
		for _, a := range accounts {
			ready = ready && app.search.Ready(a)
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("chat search not ready after a minute")
		}
	}
}

func onboardOn(t *testing.T, p *wechattest.Phone, openID string) {
	t.Helper()
	if _, err := p.Event(context.Background(), openID, "subscribe", "", nil); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"农民", "派潭", "荔枝"} {
		if r, err := p.Text(context.Background(), openID, text); err != nil || r.Status != 200 {
			t.Fatalf("onboard %q: %d %v", text, r.Status, err)
		}
	}
}

// Three accounts, each with its own library: a subscriber of each finds
// only their account's items in chat search, gets only their account's
// daily tip (a programme of their account) and campaign, and only their
// account's quiz.
func TestAccountsKeptApart(t *testing.T) {
	t.Parallel()
	m := startAccounts(t)
	titles := map[string]string{"default": "荔枝花期管理要点", "agri": "荔枝冬季清园技巧", "town": "荔枝采后保鲜方法"}
	for _, id := range m.ids {
		m.publish(id, titles[id])
	}
	const farmer = "oFarmerAll" // the same openid in each account: three separate subscribers
	for _, id := range m.ids {
		onboardOn(t, m.phones[id], farmer)
	}
	waitSearchReady(t, m.app, m.ids...)

	for _, id := range m.ids {
		got := ask(t, m.phones[id], farmer, "荔枝")
		for other, title := range titles {
			if found := strings.Contains(got, title); found != (other == id) {
				t.Errorf("search 荔枝 in %s = %q: has %s's item %v, want %v", id, got, other, found, other == id)
			}
		}
	}

	// Each account's daily tip, run by that account's organizer, sends
	// that account's item to that account's subscribers.
	for _, id := range m.ids {
		if code, body := m.api("POST", "/api/v1/jobs/daily-tip/run?account="+id, m.users[id]["organizer"], nil); code != 200 {
			t.Fatalf("run daily-tip of %s: %d %v", id, code, body)
		}
	}
	waitDelivered(t, m, farmer, 1)
	for _, id := range m.ids {
		got := fake.Delivered(m.apps[id], farmer)
		if len(got) != 1 || !strings.Contains(got[0].Content, titles[id]) {
			t.Errorf("daily tip of %s delivered %+v, want one message of %q", id, got, titles[id])
		}
	}

	// A campaign of one account reaches that account's subscribers only.
	second := m.publish("agri", "荔枝园冬季防冻措施")
	code, c := m.api("POST", "/api/v1/campaigns?account=agri", m.users["agri"]["organizer"],
		map[string]any{"name": "防冻", "audience": "group:farmer", "item_id": second})
	if code != 201 {
		t.Fatalf("create campaign in agri: %d %v", code, c)
	}
	if code, body := m.api("POST", "/api/v1/campaigns/"+c["id"].(string)+"/start?account=agri", m.users["agri"]["organizer"], nil); code != 200 {
		t.Fatalf("start campaign: %d %v", code, body)
	}
	waitDelivered(t, m, farmer, 2, "agri")
	for _, id := range m.ids {
		want := 1
		if id == "agri" {
			want = 2
		}
		if got := len(fake.Delivered(m.apps[id], farmer)); got != want {
			t.Errorf("after agri's campaign, %s's subscriber has %d messages, want %d", id, got, want)
		}
	}
	// Another account's campaign id is not found in this one.
	if code, _ := m.api("GET", "/api/v1/campaigns/"+c["id"].(string)+"?account=town", m.users["town"]["organizer"], nil); code != 404 {
		t.Errorf("agri's campaign read in town = %d, want 404", code)
	}

	// A quiz of agri is agri's only.
	now := time.Now()
	var qids []string
	for i := range 3 {
		code, q := m.api("POST", "/api/v1/questions?account=agri", m.users["agri"]["editor"], map[string]any{
			"stem": fmt.Sprintf("荔枝第 %d 题：花期要控什么？", i+1), "options": []string{"控梢", "浇水", "施肥"}, "answer": []int{0},
			"explanation": "花期控梢保花。", "topic": "litchi", "difficulty": 1})
		if code != 201 {
			t.Fatalf("create question: %d %v", code, q)
		}
		qids = append(qids, q["id"].(string))
	}
	code, comp := m.api("POST", "/api/v1/competitions?account=agri", m.users["agri"]["organizer"], map[string]any{
		"title": "荔枝知识竞赛", "starts_at": now.Add(-time.Hour).Format(time.RFC3339), "ends_at": now.Add(24 * time.Hour).Format(time.RFC3339),
		"audience": "", "question_ids": qids, "time_limit_seconds": 600, "pass_mark": 2, "attempts": 1, "code": "LZ"})
	if code != 201 {
		t.Fatalf("create competition: %d %v", code, comp)
	}
	if code, body := m.api("POST", "/api/v1/competitions/"+comp["id"].(string)+"/publish?account=agri", m.users["agri"]["organizer"], nil); code != 200 {
		t.Fatalf("publish competition: %d %v", code, body)
	}
	for _, id := range m.ids {
		got := ask(t, m.phones[id], farmer, "答题")
		if has := strings.Contains(got, "荔枝第 1 题"); has != (id == "agri") {
			t.Errorf("答题 in %s = %q: asks agri's question %v, want %v", id, got, has, id == "agri")
		}
	}
}

// waitDelivered waits until farmer has at least want messages in each
// account (or in those named).
func waitDelivered(t *testing.T, m *multi, openID string, want int, only ...string) {
	t.Helper()
	accounts := m.ids
	if len(only) > 0 {
		accounts = only
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		done := true
		for _, id := range accounts {
			done = done && len(fake.Delivered(m.apps[id], openID)) >= want
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has not received %d messages in %v within 30 s", openID, want, accounts)
		}
	}
}

var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// A user of agri (even its admin) gets 403 on every route of town and on
// every route of the whole deployment: the routes are read from the
// OpenAPI document, so a new route cannot escape. The refusals are in
// the audit log, with the account.
func TestAccountRoutesForbidden(t *testing.T) {
	t.Parallel()
	m := startAccounts(t)
	resp, err := http.Get(m.base + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Security   *[]any `json:"security"`
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
			Deployment bool `json:"x-deployment"`
		} `json:"paths"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var scoped, deployment int
	for path, ops := range doc.Paths {
		for method, op := range ops {
			method = strings.ToUpper(method)
			if op.Security != nil && len(*op.Security) == 0 {
				continue // public: the document itself
			}
			account := slices.ContainsFunc(op.Parameters, func(p struct {
				Name string `json:"name"`
				In   string `json:"in"`
			}) bool {
				return p.In == "query" && p.Name == "account"
			})
			url := pathParam.ReplaceAllString(path, "x")
			switch {
			case account:
				scoped++
				url += "?account=town"
			case op.Deployment:
				deployment++
			default:
				continue // the caller's own view (GET /api/v1/accounts)
			}
			for _, role := range []string{"admin", "organizer", "editor"} {
				code, body := m.api(method, url, m.users["agri"][role], map[string]any{})
				if code != http.StatusForbidden {
					t.Errorf("%s %s as agri's %s = %d %v, want 403", method, url, role, code, body)
				}
			}
		}
	}
	if scoped < 60 || deployment < 4 {
		t.Errorf("checked %d account routes and %d deployment routes, want every one (60+ and 4+)", scoped, deployment)
	}
	// The same users work in their own account.
	if code, body := m.api("GET", "/api/v1/items?account=agri", m.users["agri"]["editor"], nil); code != 200 {
		t.Errorf("GET items in agri as agri's editor = %d %v", code, body)
	}
	if code, body := m.api("GET", "/api/v1/items", m.users["agri"]["editor"], nil); code != 403 {
		t.Errorf("GET items in the default account as agri's editor = %d %v, want 403", code, body)
	}
	// Accounts: each user sees their own; a deployment admin sees all.
	code, list := m.api("GET", "/api/v1/accounts", m.users["agri"]["editor"], nil)
	if got := fmt.Sprint(list["accounts"]); code != 200 || !strings.Contains(got, "agri") || strings.Contains(got, "town") {
		t.Errorf("GET accounts as agri's editor = %d %s, want agri only", code, got)
	}
	code, list = m.api("GET", "/api/v1/accounts", "admintoken", nil)
	if got, _ := list["accounts"].([]any); code != 200 || len(got) != 3 {
		t.Errorf("GET accounts as the deployment admin = %d %v, want 3", code, list)
	}
	// Unknown or malformed accounts are refused and create nothing.
	for _, tc := range []struct {
		query string
		want  int
	}{{"?account=nosuch", 404}, {"?account=%7Bagri%7D", 400}} {
		if code, body := m.api("POST", "/api/v1/campaigns"+tc.query, "admintoken", map[string]any{"name": "x", "audience": "group:farmer", "item_id": "it_1"}); code != tc.want {
			t.Errorf("POST campaigns%s = %d %v, want %d", tc.query, code, body, tc.want)
		}
	}
	if keys, err := m.app.rdb.Keys(context.Background(), "*nosuch*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("keys of an unknown account: %v %v", keys, err)
	}
	// The audit log names the account of each refusal.
	code, audit := m.api("GET", "/api/v1/audit?limit=1000", "admintoken", nil)
	found := false
	for _, e := range audit["entries"].([]any) {
		e := e.(map[string]any)
		if e["account"] == "town" && e["status"] == float64(403) && e["name"] == "agri-admin" {
			found = true
			break
		}
	}
	if code != 200 || !found {
		t.Errorf("audit log (%d) has no 403 of agri-admin in town", code)
	}
}

// Publishing makes an item findable at once on every replica, and
// retiring it removes it at once: two App instances share one Redis.
func TestSearchFollowsPublishOnTwoReplicas(t *testing.T) {
	t.Parallel()
	m := startAccounts(t)
	ctx := context.Background()
	cfg := *m.app.cfg
	other, err := NewApp(ctx, &cfg, newLogger(&cfg, &strings.Builder{}), AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	if err := other.Start(ctx); err != nil {
		t.Fatal(err)
	}
	acct := wechattest.Account{AppID: m.apps["agri"], Secret: "agri-secret", Token: "agritoken"}
	replicas := map[string]*wechattest.Phone{
		"first":  m.phones["agri"],
		"second": wechattest.NewPhone(fake, acct, "http://"+other.Addr()+"/wechat/agri", false),
	}
	onboardOn(t, replicas["first"], "oReplica")
	waitSearchReady(t, m.app, "agri")
	waitSearchReady(t, other, "agri")

	const title = "荔枝蒂蛀虫绿色防控"
	id := m.publish("agri", title)
	published := time.Now()
	for name, p := range replicas {
		waitSearch(t, name, p, title, true, published)
	}
	if code, body := m.api("POST", "/api/v1/items/"+id+"/retire?account=agri", m.users["agri"]["organizer"], map[string]any{"reason": "内容过时"}); code != 200 {
		t.Fatalf("retire: %d %v", code, body)
	}
	retired := time.Now()
	for name, p := range replicas {
		waitSearch(t, name, p, title, false, retired)
	}
}

// waitSearch searches 蒂蛀虫 on p until title is found (or gone), and
// fails when that took more than a second from since.
func waitSearch(t *testing.T, replica string, p *wechattest.Phone, title string, want bool, since time.Time) {
	t.Helper()
	for {
		got := ask(t, p, "oReplica", "蒂蛀虫")
		if strings.Contains(got, title) == want {
			if d := time.Since(since); d > time.Second {
				t.Errorf("%s replica: search found=%v after %s, want within 1 s", replica, want, d)
			}
			return
		}
		if time.Since(since) > 5*time.Second {
			t.Fatalf("%s replica: search = %q after 5 s, want found=%v", replica, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A deployment admin adds an account while kepubot runs: both replicas
// serve its webhook within seconds, without a restart; bad or clashing
// accounts are refused and change nothing.
func TestAddAccountWhileRunning(t *testing.T) {
	t.Parallel()
	m := startAccounts(t)
	ctx := context.Background()
	cfg := *m.app.cfg
	other, err := NewApp(ctx, &cfg, newLogger(&cfg, &strings.Builder{}), AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	if err := other.Start(ctx); err != nil {
		t.Fatal(err)
	}
	coop := wechattest.Account{AppID: fmt.Sprintf("wxcoop%d", appSeq.Add(1)), Secret: "coop-secret", Token: "cooptoken"}
	fake.AddAccount(coop)
	for _, tc := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"bad id", map[string]any{"id": "Co Op", "app_id": "wxnew", "token": "t1"}, 400},
		{"no token", map[string]any{"id": "coop", "app_id": "wxnew"}, 400},
		{"bad aes key", map[string]any{"id": "coop", "app_id": "wxnew", "token": "t1", "aes_key": "short"}, 400},
		{"taken id", map[string]any{"id": "agri", "app_id": "wxnew", "token": "t1"}, 409},
		{"another's app_id", map[string]any{"id": "coop", "app_id": m.apps["agri"], "token": "t1"}, 409},
		{"another's token", map[string]any{"id": "coop", "app_id": "wxnew", "token": "agritoken"}, 409},
	} {
		if code, body := m.api("POST", "/api/v1/accounts", "admintoken", tc.body); code != tc.want {
			t.Errorf("POST accounts (%s) = %d %v, want %d", tc.name, code, body, tc.want)
		}
	}
	if code, _ := m.api("GET", "/api/v1/items?account=coop", "admintoken", nil); code != 404 {
		t.Fatalf("a refused account is served: %d", code)
	}
	code, body := m.api("POST", "/api/v1/accounts", "admintoken", map[string]any{
		"id": "coop", "name": "合作社", "app_id": coop.AppID, "app_secret": coop.Secret, "token": coop.Token})
	if code != 201 || body["webhook"] != "/wechat/coop" {
		t.Fatalf("POST accounts = %d %v", code, body)
	}
	code, u := m.api("POST", "/api/v1/users", "admintoken", map[string]any{"name": "coop-editor", "accounts": map[string]string{"coop": "editor"}})
	if code != 201 {
		t.Fatalf("create a user of the new account: %d %v", code, u)
	}
	if code, body := m.api("GET", "/api/v1/items?account=coop", u["token"].(string), nil); code != 200 {
		t.Errorf("GET items of the new account as its editor = %d %v", code, body)
	}
	// Both replicas take its subscribers' messages.
	for name, base := range map[string]string{"first": m.base, "second": "http://" + other.Addr()} {
		p := wechattest.NewPhone(fake, coop, base+"/wechat/coop", false)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			r, err := p.Event(ctx, "oCoop", "subscribe", "", nil)
			if err == nil && r.Status == 200 && strings.Contains(r.Content, "欢迎") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s replica: subscribe to the new account = %+v %v after 10 s", name, r, err)
			}
		}
	}
	// The other accounts went on: agri still answers.
	if r, err := m.phones["agri"].Event(ctx, "oStill", "subscribe", "", nil); err != nil || r.Status != 200 {
		t.Errorf("agri after adding an account: %+v %v", r, err)
	}
	// Its calendar jobs are its own.
	code, list := m.apiList("GET", "/api/v1/jobs?account=coop", "admintoken")
	if code != 200 || !strings.Contains(fmt.Sprint(list), "daily-tip:coop") {
		t.Errorf("jobs of the new account = %d %v", code, list)
	}
}

// apiList is api for an answer that is a JSON array.
func (e *e2e) apiList(method, path, token string) (int, []any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// SIGHUP's reload serves an account added to the configuration file and
// leaves the others as they were; a clashing one is refused.
func TestReloadAddsConfiguredAccount(t *testing.T) {
	t.Parallel()
	m := startAccounts(t)
	next := *m.app.cfg
	coop := wechattest.Account{AppID: fmt.Sprintf("wxhup%d", appSeq.Add(1)), Secret: "hup-secret", Token: "huptoken"}
	fake.AddAccount(coop)
	next.Accounts = append(slices.Clone(next.Accounts), AccountConfig{ID: "clash", AppID: m.apps["agri"], Token: "x1", APIBase: next.WeChat.APIBase})
	if added, err := m.app.reloadAccounts(&next); err == nil || len(added) != 0 {
		t.Errorf("reload with a clashing AppID = %v, %v; want an error, nothing added", added, err)
	}
	next.Accounts = append(slices.Clone(m.app.cfg.Accounts), AccountConfig{ID: "hup", AppID: coop.AppID, AppSecret: coop.Secret,
		Token: coop.Token, APIBase: next.WeChat.APIBase})
	added, err := m.app.reloadAccounts(&next)
	if err != nil || strings.Join(added, ",") != "hup" {
		t.Fatalf("reload = %v, %v; want hup added", added, err)
	}
	p := wechattest.NewPhone(fake, coop, m.base+"/wechat/hup", false)
	if r, err := p.Event(context.Background(), "oHup", "subscribe", "", nil); err != nil || !strings.Contains(r.Content, "欢迎") {
		t.Errorf("subscribe to the reloaded account = %+v %v", r, err)
	}
	if added, err := m.app.reloadAccounts(&next); err != nil || len(added) != 0 {
		t.Errorf("a second reload = %v, %v; want nothing new", added, err)
	}
}
