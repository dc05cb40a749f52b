package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/importer"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// bundle is what a console test needs.
type bundle struct {
	ctx      context.Context
	rdb      redis.UniversalClient
	console  *Console
	server   *httptest.Server
	profiles *profile.Store
	camps    *campaign.Store
	audit    *admin.AuditLog
	// api is the admin API the console calls, with the users, audit,
	// content and segment routes; a test adds more areas to it (the mux
	// takes routes after the console is built).
	api     *admin.Server
	content *content.Store
	now     time.Time // the clock of the content store and API
	tax     *taxonomy.Taxonomy
	// users by role, each with console password passwords[role].
	users map[admin.Role]admin.User
}

const testPassword = "correct horse battery"

func setup(tb testing.TB) *bundle {
	tb.Helper()
	ctx := context.Background()
	rdb := redistest.Start(tb)
	profiles, err := profile.NewStore(ctx, rdb, time.UTC)
	if err != nil {
		tb.Fatal(err)
	}
	tax, err := taxonomy.Default()
	if err != nil {
		tb.Fatal(err)
	}
	b := &bundle{ctx: ctx, rdb: rdb, profiles: profiles, camps: campaign.NewStore(rdb), tax: tax,
		audit: admin.NewAuditLog(rdb, nil), users: map[admin.Role]admin.User{}}
	users := admin.NewUsers(rdb)
	b.now = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return b.now }
	b.content = content.NewStore(rdb, clock)
	b.api = admin.NewServer(users, nil)
	b.api.SetAccounts([]string{"default", "science"})
	b.api.SetAuditor(b.audit)
	admin.RegisterUsers(b.api, users)
	admin.RegisterAudit(b.api, b.audit)
	admin.RegisterContent(b.api, admin.ContentDeps{Store: b.content, Vocab: importer.Vocabulary(tax),
		CheckAudience: func(expr string) error { _, err := segment.Parse(expr, tax); return err }})
	admin.RegisterSegments(b.api, admin.SegmentDeps{Profiles: profiles, Tax: tax,
		Segments: segment.NewStore(rdb, tax), Now: clock, Loc: time.UTC})
	b.console, err = New(Config{Redis: rdb, Users: users, Profiles: profiles, Tax: tax, Campaigns: b.camps,
		Audit: b.audit, API: b.api, Now: clock, Accounts: []string{"default"}})
	if err != nil {
		tb.Fatal(err)
	}
	b.console.acc.cost = bcrypt.MinCost
	for _, role := range admin.Roles() {
		nu, err := users.Create(ctx, string(role)+"-user", role, "test")
		if err != nil {
			tb.Fatal(err)
		}
		if err := b.console.SetPassword(ctx, nu.ID, testPassword); err != nil {
			tb.Fatal(err)
		}
		b.users[role] = nu.User
	}
	b.server = httptest.NewServer(b.console.Handler())
	tb.Cleanup(b.server.Close)
	return b
}

// browser is a client with its own cookies; it follows no redirects and
// sends Secure cookies over the test's plain HTTP, as browsers do for
// localhost.
type browser struct {
	tb      testing.TB
	base    string
	cookies map[string]string
	ip      string
}

func (b *bundle) browser(tb testing.TB) *browser {
	return &browser{tb: tb, base: b.server.URL, cookies: map[string]string{}}
}

type response struct {
	*http.Response
	body string
}

func (br *browser) do(method, path string, form url.Values) response {
	br.tb.Helper()
	if form == nil {
		return br.send(method, path, "", nil)
	}
	return br.send(method, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// upload posts a multipart form with a csrf field and a file part "file".
func (br *browser) upload(path, csrf, filename string, data []byte) response {
	br.tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("csrf", csrf); err != nil {
		br.tb.Fatal(err)
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		br.tb.Fatal(err)
	}
	fw.Write(data)
	if err := mw.Close(); err != nil {
		br.tb.Fatal(err)
	}
	return br.send(http.MethodPost, path, mw.FormDataContentType(), &body)
}

// send makes a request with a body of contentType ("" for none).
func (br *browser) send(method, path, contentType string, body io.Reader) response {
	br.tb.Helper()
	req, err := http.NewRequest(method, br.base+path, body)
	if err != nil {
		br.tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range br.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		br.tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		br.tb.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(br.cookies, c.Name)
		} else {
			br.cookies[c.Name] = c.Value
		}
	}
	return response{Response: resp, body: string(raw)}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrf returns the CSRF token of the first form on a page.
func (br *browser) csrf(page string) string {
	br.tb.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		br.tb.Fatalf("no csrf field in page:\n%s", page)
	}
	return m[1]
}

// login logs in with name and password and returns the login response.
func (br *browser) login(name, password string) response {
	br.tb.Helper()
	page := br.do("GET", "/console/login", nil)
	return br.do("POST", "/console/login", url.Values{"csrf": {br.csrf(page.body)}, "name": {name}, "password": {password}})
}

// mustLogin logs in and returns the dashboard page.
func (br *browser) mustLogin(name string) string {
	br.tb.Helper()
	if r := br.login(name, testPassword); r.StatusCode != http.StatusSeeOther {
		br.tb.Fatalf("login %s: status %d, want 303:\n%s", name, r.StatusCode, r.body)
	}
	r := br.do("GET", "/console/", nil)
	if r.StatusCode != http.StatusOK {
		br.tb.Fatalf("GET /console/ = %d, want 200", r.StatusCode)
	}
	return r.body
}

func TestLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)

	if r := br.do("GET", "/console/", nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login" {
		t.Fatalf("GET /console/ without session = %d %q, want 303 to /console/login", r.StatusCode, r.Header.Get("Location"))
	}
	r := br.login("editor-user", testPassword)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/" {
		t.Fatalf("login = %d %q, want 303 to /console/", r.StatusCode, r.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			sess = c
		}
	}
	if sess == nil {
		t.Fatal("login set no session cookie")
	}
	if !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/console/" ||
		sess.MaxAge != int(SessionTTL.Seconds()) || len(sess.Value) != 64 {
		t.Errorf("session cookie = %+v, want HttpOnly, Secure, SameSite=Strict, Path=/console/, MaxAge=%d, 64 hex", sess, int(SessionTTL.Seconds()))
	}
	// Only the id's hash is in Redis, with the session's expiry.
	if n, _ := b.rdb.Exists(b.ctx, sessionKey(sess.Value)).Result(); n != 0 {
		t.Error("the raw session id is a Redis key")
	}
	ttl, err := b.rdb.TTL(b.ctx, sessionKey(hashSessionID(sess.Value))).Result()
	if err != nil || ttl <= SessionTTL-time.Minute || ttl > SessionTTL {
		t.Errorf("session TTL = %v, %v; want about %v", ttl, err, SessionTTL)
	}
	page := br.do("GET", "/console/", nil)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "editor-user（编辑）") {
		t.Errorf("dashboard = %d, want 200 naming editor-user（编辑）:\n%s", page.StatusCode, page.body)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy = %q, want default-src 'self'", csp)
	}

	for _, tc := range []struct{ name, password string }{
		{"editor-user", "wrong password!"},
		{"nobody", testPassword},
		{"", ""},
	} {
		other := b.browser(t)
		r := other.login(tc.name, tc.password)
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "用户名或密码错误") {
			t.Errorf("login(%q, %q) = %d, want 401 用户名或密码错误", tc.name, tc.password, r.StatusCode)
		}
		if _, ok := other.cookies[sessionCookie]; ok {
			t.Errorf("login(%q, %q) set a session cookie", tc.name, tc.password)
		}
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	for i := range maxNameFailures {
		if r := br.login("organizer-user", "wrong password!"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, r.StatusCode)
		}
	}
	// Locked: even the right password is refused, from any address.
	r := b.browser(t).login("organizer-user", testPassword)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("login after %d failures = %d (Retry-After %q), want 429 with Retry-After", maxNameFailures, r.StatusCode, r.Header.Get("Retry-After"))
	}
	if !strings.Contains(r.body, "登录失败次数过多") {
		t.Errorf("429 page does not say why:\n%s", r.body)
	}
	// Other names still log in until the address itself is locked.
	b.browser(t).mustLogin("viewer-user")
	for i := maxNameFailures; i < maxIPFailures; i++ {
		br.login("nobody-"+string(rune('a'+i)), "wrong password!")
	}
	if r := b.browser(t).login("viewer-user", testPassword); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("login after %d failures from one address = %d, want 429", maxIPFailures, r.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	page := br.mustLogin("admin-user")
	token := br.csrf(page)
	uid := b.users[admin.RoleViewer].ID
	for _, tc := range []struct {
		name string
		path string
		form url.Values
	}{
		{"logout without token", "/console/logout", url.Values{}},
		{"logout with a wrong token", "/console/logout", url.Values{"csrf": {strings.Repeat("0", len(token))}}},
		{"logout-all without token", "/console/logout-all", url.Values{}},
		{"password without token", "/console/users/" + uid + "/password", url.Values{"password": {"a new password 1"}}},
	} {
		if r := br.do("POST", tc.path, tc.form); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tc.name, r.StatusCode)
		}
	}
	// Nothing changed: the session lives and the viewer's password is the same.
	if r := br.do("GET", "/console/", nil); r.StatusCode != http.StatusOK {
		t.Errorf("session after refused POSTs: GET /console/ = %d, want 200", r.StatusCode)
	}
	b.browser(t).mustLogin("viewer-user")

	// The login form has its own token (double submit).
	anon := b.browser(t)
	r := anon.do("POST", "/console/login", url.Values{"name": {"admin-user"}, "password": {testPassword}})
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("login without token = %d, want 403", r.StatusCode)
	}
	// A POST without a session is refused, not redirected.
	if r := anon.do("POST", "/console/logout", url.Values{"csrf": {token}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("logout without a session = %d, want 403", r.StatusCode)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	phone, laptop, other := b.browser(t), b.browser(t), b.browser(t)
	phonePage := phone.mustLogin("reviewer-user")
	laptop.mustLogin("reviewer-user")
	other.mustLogin("editor-user")

	stale := phone.cookies[sessionCookie]
	r := phone.do("POST", "/console/logout", url.Values{"csrf": {phone.csrf(phonePage)}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login" {
		t.Fatalf("logout = %d %q, want 303 to /console/login", r.StatusCode, r.Header.Get("Location"))
	}
	if _, ok := phone.cookies[sessionCookie]; ok {
		t.Error("logout left the session cookie")
	}
	phone.cookies[sessionCookie] = stale
	if r := phone.do("GET", "/console/", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("old cookie after logout: GET /console/ = %d, want 303", r.StatusCode)
	}
	if r := laptop.do("GET", "/console/", nil); r.StatusCode != http.StatusOK {
		t.Errorf("other session after logout: GET /console/ = %d, want 200", r.StatusCode)
	}

	// Logout everywhere ends the user's other sessions too, not other users'.
	phone.cookies = map[string]string{}
	page := phone.mustLogin("reviewer-user")
	laptopCookie := laptop.cookies[sessionCookie]
	if r := phone.do("POST", "/console/logout-all", url.Values{"csrf": {phone.csrf(page)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout-all = %d, want 303", r.StatusCode)
	}
	laptop.cookies[sessionCookie] = laptopCookie
	if r := laptop.do("GET", "/console/", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("laptop after logout everywhere: GET /console/ = %d, want 303", r.StatusCode)
	}
	if r := other.do("GET", "/console/", nil); r.StatusCode != http.StatusOK {
		t.Errorf("another user after logout everywhere: GET /console/ = %d, want 200", r.StatusCode)
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	viewer := b.browser(t)
	page := viewer.mustLogin("viewer-user")
	token := viewer.csrf(page)
	if strings.Contains(page, "/console/users") {
		t.Error("a viewer's menu links the users page")
	}
	if r := viewer.do("GET", "/console/users", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer GET /console/users = %d, want 403", r.StatusCode)
	}
	target := b.users[admin.RoleEditor].ID
	form := url.Values{"csrf": {token}, "password": {"a new password 1"}}
	if r := viewer.do("POST", "/console/users/"+target+"/password", form); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST password = %d, want 403", r.StatusCode)
	}
	editor := b.browser(t)
	editor.mustLogin("editor-user") // unchanged

	admins := b.browser(t)
	page = admins.mustLogin("admin-user")
	users := admins.do("GET", "/console/users", nil)
	if users.StatusCode != http.StatusOK || !strings.Contains(users.body, "viewer-user") {
		t.Fatalf("admin GET /console/users = %d, want 200 listing viewer-user", users.StatusCode)
	}
	short := url.Values{"csrf": {admins.csrf(page)}, "password": {"short"}}
	if r := admins.do("POST", "/console/users/"+target+"/password", short); r.StatusCode != http.StatusBadRequest {
		t.Errorf("admin sets a short password: %d, want 400", r.StatusCode)
	}
	form.Set("csrf", admins.csrf(page))
	if r := admins.do("POST", "/console/users/"+target+"/password", form); r.StatusCode != http.StatusOK {
		t.Fatalf("admin POST password = %d, want 200", r.StatusCode)
	}
	if r := editor.do("GET", "/console/", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("editor's session after a password change: %d, want 303 (ended)", r.StatusCode)
	}
	if r := b.browser(t).login("editor-user", "a new password 1"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("login with the new password = %d, want 303", r.StatusCode)
	}

	// Every state-changing request is in the audit log, refused or not.
	entries, err := b.audit.Recent(b.ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var refused, done, login bool
	for _, e := range entries {
		login = login || (e.Path == "/console/login" && e.UserID == b.users[admin.RoleAdmin].ID && e.Status == http.StatusSeeOther)
		if e.Path == "/console/users/"+target+"/password" {
			refused = refused || (e.Name == "viewer-user" && e.Status == http.StatusForbidden)
			done = done || (e.Name == "admin-user" && e.Status == http.StatusOK)
		}
	}
	if !refused || !done || !login {
		t.Errorf("audit log: viewer's refused change %v, admin's change %v, admin's login %v; want all", refused, done, login)
	}
}

func TestSetPassword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Names are unique now; a twin is a user stored before they were.
	twin := admin.User{ID: "u_99", Name: "Editor-User", Role: admin.RoleViewer}
	if err := b.rdb.HSet(b.ctx, "kb:{admin}:users", twin.ID, mustJSON(t, twin)).Err(); err != nil {
		t.Fatal(err)
	}
	var pe *PasswordError
	for _, tc := range []struct {
		name     string
		id, pw   string
		want     error
		wantPass bool
	}{
		{name: "short", id: b.users[admin.RoleViewer].ID, pw: "123456789", wantPass: true},
		{name: "over 72 bytes", id: b.users[admin.RoleViewer].ID, pw: strings.Repeat("密", 25), wantPass: true},
		{name: "unknown user", id: "u_999", pw: testPassword, want: ErrUnknownUser},
		{name: "name taken", id: twin.ID, pw: testPassword, want: ErrNameTaken},
	} {
		err := b.console.SetPassword(b.ctx, tc.id, tc.pw)
		if tc.wantPass && !errors.As(err, &pe) {
			t.Errorf("%s: SetPassword = %v, want a *PasswordError", tc.name, err)
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: SetPassword = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestBootstrapPassword is the first admin's path: a command line sets the
// password with Accounts alone, then the admin logs in to the console.
func TestBootstrapPassword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	users := admin.NewUsers(b.rdb)
	first, err := users.Create(b.ctx, "张主任", admin.RoleAdmin, "bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	acc := NewAccounts(b.rdb, users)
	acc.cost = bcrypt.MinCost
	if err := acc.SetPassword(b.ctx, first.ID, "增城科协 2027 年"); err != nil {
		t.Fatal(err)
	}
	has, err := acc.HasPassword(b.ctx, first.ID, "u_999")
	if err != nil || !has[0] || has[1] {
		t.Errorf("HasPassword = %v, %v; want [true false]", has, err)
	}
	if r := b.browser(t).login("张主任", "增城科协 2027 年"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("login after bootstrap = %d, want 303", r.StatusCode)
	}
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := b.now // the console's clock
	var ps []*profile.Profile
	add := func(n int, group, town string, subscribed bool, active time.Time) {
		for range n {
			ps = append(ps, &profile.Profile{OpenID: "o" + strings.Repeat("x", 20) + string(rune('A'+len(ps)/26)) + string(rune('a'+len(ps)%26)),
				Group: group, Town: town, Subscribed: subscribed, CreatedAt: now, LastActiveAt: active})
		}
	}
	add(7, "farmer", "paitan", true, now.AddDate(0, 0, -40)) // inactive
	add(3, "farmer", "paitan", true, now)                    // active today
	add(2, "farmer", "paitan", false, now)                   // unsubscribed: not reachable
	add(5, "worker", "xintang", true, now.AddDate(0, 0, -10))
	if _, err := b.profiles.Import(b.ctx, "default", ps); err != nil {
		t.Fatal(err)
	}
	started := now
	c := &campaign.Campaign{Account: "default", Name: "荔枝病虫害防治", Mode: campaign.ModeItem, Status: campaign.StatusDone,
		CreatedAt: now, StartedAt: &started, Planned: 10}
	if err := b.camps.Create(b.ctx, c); err != nil {
		t.Fatal(err)
	}

	d, err := b.console.Dashboard(b.ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	// Active counts the reachable ones only (3 + 5; not the 2 who left).
	if d.Reachable != 15 || d.Active != 8 {
		t.Errorf("Dashboard: reachable %d, active %d; want 15, 8", d.Reachable, d.Active)
	}
	paitan, _ := b.tax.Town("paitan")
	farmer := -1
	for i, g := range d.Groups {
		if g.ID == "farmer" {
			farmer = i
		}
	}
	for _, row := range d.Towns {
		if row.Name != paitan.Name {
			continue
		}
		if row.Total != 10 || row.Cells[farmer] != 10 || row.Active != 3 || row.Bar != barWidth {
			t.Errorf("派潭 row = %+v, want 10 farmers reachable, 3 active, full bar", row)
		}
	}

	page := b.browser(t).mustLogin("viewer-user")
	for _, want := range []string{"派潭镇", "农民", `<td class="total">15</td>`, "荔枝病虫害防治", "已完成", `<rect class="bar" width="160"`} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard page lacks %q", want)
		}
	}
	if r := b.browser(t).do("GET", "/console/static/console.css", nil); r.StatusCode != http.StatusOK {
		t.Errorf("GET console.css = %d, want 200", r.StatusCode)
	}
}

func TestFormatNum(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1500000, "1,500,000"}, {-12345, "-12,345"}} {
		if got := formatNum(tc.n); got != tc.want {
			t.Errorf("formatNum(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
