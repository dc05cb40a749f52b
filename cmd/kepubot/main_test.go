package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

const testAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

// fake is the one fake WeChat of this package's tests: the SDK's API base
// is process-wide, so parallel tests share it and keep apart by appid.
var (
	fake   *wechattest.Server
	appSeq atomic.Int64
)

func TestMain(m *testing.M) {
	if cmd := os.Getenv("KEPUBOT_TEST_MAIN"); cmd != "" {
		// A test runs the real main in a child process.
		os.Args = []string{"kepubot", cmd}
		main()
		os.Exit(0)
	}
	fake = wechattest.New(wechattest.Options{Seed: 5})
	code := m.Run()
	fake.Close()
	os.Exit(code)
}

// env is a fake environment for LoadConfig.
func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

type e2e struct {
	t        *testing.T
	appID    string
	redisURL string
	app      *App
	base     string
	wx       *wechattest.Server
	phone    *wechattest.Phone
}

// startE2E runs the real serve wiring against a private Redis (a Cluster
// under KEPUBOT_TEST_REDIS=cluster) and the fake WeChat API, configured
// only through the contract environment variables.
func startE2E(t *testing.T, extraEnv ...map[string]string) *e2e {
	t.Helper()
	return startE2EWith(t, AppOptions{}, extraEnv...)
}

// startE2EOn is startE2E on a given redis-server (e.g. one a test kills).
func startE2EOn(t *testing.T, srv *redistest.Server, extraEnv ...map[string]string) *e2e {
	t.Helper()
	return startE2EOnWith(t, "redis://"+srv.Addr, AppOptions{}, extraEnv...)
}

// startE2EWith is startE2E with app options (a clock).
func startE2EWith(t *testing.T, opts AppOptions, extraEnv ...map[string]string) *e2e {
	t.Helper()
	url, _ := redistest.StartURL(t, redistest.Options{})
	return startE2EOnWith(t, url, opts, extraEnv...)
}

// startE2EOnWith runs the app with options on the Redis at redisURL
// (KEPUBOT_REDIS_URL).
func startE2EOnWith(t *testing.T, redisURL string, opts AppOptions, extraEnv ...map[string]string) *e2e {
	t.Helper()
	wx := fake
	acct := wechattest.Account{AppID: fmt.Sprintf("wxe2e%d", appSeq.Add(1)), Secret: "e2e-secret", Token: "e2etoken", EncodingAESKey: testAESKey}
	wx.AddAccount(acct)
	vars := map[string]string{
		"KEPUBOT_HTTP_ADDR":         "127.0.0.1:0",
		"KEPUBOT_REDIS_URL":         redisURL,
		"KEPUBOT_WECHAT_APP_ID":     acct.AppID,
		"KEPUBOT_WECHAT_APP_SECRET": acct.Secret,
		"KEPUBOT_WECHAT_TOKEN":      acct.Token,
		"KEPUBOT_WECHAT_AES_KEY":    testAESKey,
		"KEPUBOT_WECHAT_API_BASE":   wx.URL(),
		"KEPUBOT_ADMIN_TOKEN":       "admintoken",
		"KEPUBOT_PUBLIC_URL":        "https://kepu.example.org",
	}
	for _, m := range extraEnv {
		for k, v := range m {
			vars[k] = v
		}
	}
	cfg, err := LoadConfig("", env(vars))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var logs bytes.Buffer
	app, err := NewApp(ctx, cfg, newLogger(cfg, &logs), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		app.Close()
		if strings.Contains(logs.String(), "oE2E") {
			t.Errorf("logs contain an openid:\n%s", logs.String())
		}
	})
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	base := "http://" + app.Addr()
	return &e2e{t: t, app: app, base: base, wx: wx, appID: acct.AppID, redisURL: redisURL, phone: wechattest.NewPhone(wx, acct, base+"/wechat", true)}
}

func (e *e2e) api(method, path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *e2e) say(openID, text string) string {
	e.t.Helper()
	r, err := e.phone.Text(context.Background(), openID, text)
	if err != nil || r.Status != 200 {
		e.t.Fatalf("Text(%q) = %d %v", text, r.Status, err)
	}
	return r.Content
}

// onboard follows and answers onboarding: group, town, and litchi as the
// interest.
func (e *e2e) onboard(openID, group, town string) {
	e.t.Helper()
	if _, err := e.phone.Event(context.Background(), openID, "subscribe", "", nil); err != nil {
		e.t.Fatal(err)
	}
	e.say(openID, group)
	e.say(openID, town)
	e.say(openID, "荔枝")
}

func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	e := startE2E(t)
	ctx := context.Background()

	// Onboarding through the encrypted webhook.
	if r, err := e.phone.Event(ctx, "oE2E", "subscribe", "", nil); err != nil || !strings.Contains(r.Content, "欢迎") {
		t.Fatalf("subscribe: %+v %v", r, err)
	}
	e.say("oE2E", "农民")
	e.say("oE2E", "派潭镇")
	e.say("oE2E", "荔枝 气象")
	code, sub := e.api("GET", "/api/v1/subscribers/oE2E", "admintoken", nil)
	if code != 200 || sub["group"] != "farmer" || sub["town"] != "paitan" || sub["subscribed"] != true || sub["opted_out"] != false {
		t.Fatalf("GET subscriber = %d %v", code, sub)
	}
	interests := fmt.Sprint(sub["interests"])
	if !strings.Contains(interests, "litchi") || !strings.Contains(interests, "weather") {
		t.Errorf("interests = %s", interests)
	}
	for _, k := range []string{"openid", "source", "created_at", "last_active_at"} {
		if _, ok := sub[k]; !ok {
			t.Errorf("subscriber JSON lacks %q: %v", k, sub)
		}
	}

	// A QR channel: created through the fake WeChat API, then followed.
	code, qr := e.api("POST", "/api/v1/qrcodes", "admintoken", map[string]any{
		"group": "farmer", "town": "paitan", "interests": []string{"litchi"}, "source": "training-2027", "temporary": true})
	if code != 201 || qr["scene"] == "" || qr["ticket"] == "" || qr["url"] == "" {
		t.Fatalf("POST qrcodes = %d %v", code, qr)
	}
	if scene, ok := e.wx.Scene(qr["ticket"].(string)); !ok || scene != qr["scene"] {
		t.Errorf("fake WeChat has scene %q for the ticket, want %q", scene, qr["scene"])
	}
	r, err := e.phone.Event(ctx, "oQR", "subscribe", "qrscene_"+qr["scene"].(string), map[string]string{"Ticket": qr["ticket"].(string)})
	if err != nil || strings.Contains(r.Content, "哪类人") {
		t.Errorf("QR subscribe asked questions: %q %v", r.Content, err)
	}
	_, sub = e.api("GET", "/api/v1/subscribers/oQR", "admintoken", nil)
	if sub["group"] != "farmer" || sub["town"] != "paitan" || sub["source"] != "training-2027" {
		t.Errorf("QR subscriber = %v", sub)
	}

	// The admin API refuses bad calls clearly.
	for _, tc := range []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"GET", "/api/v1/subscribers/oE2E", "", nil, 401},
		{"GET", "/api/v1/subscribers/oE2E", "wrong", nil, 401},
		{"GET", "/api/v1/subscribers/nobody", "admintoken", nil, 404},
		{"POST", "/api/v1/qrcodes", "admintoken", map[string]any{"group": "pirate"}, 400},
		{"POST", "/api/v1/qrcodes", "admintoken", map[string]any{"colour": "red"}, 400},
	} {
		if code, body := e.api(tc.method, tc.path, tc.token, tc.body); code != tc.want || body["error"] == nil {
			t.Errorf("%s %s = %d %v, want %d with an error", tc.method, tc.path, code, body, tc.want)
		}
	}

	// The organizer console: its first admin gets a password from the
	// command line, then logs in.
	if code, u := e.api("POST", "/api/v1/users", "admintoken", map[string]any{"name": "kexie-admin", "role": "admin"}); code != 201 {
		t.Fatalf("create console user: %d %v", code, u)
	}
	var pwOut bytes.Buffer
	// The command with its own stdin: setting the package's stdin would
	// race with the parallel tests that call run.
	err = cmdConsolePasswd(ctx, []string{"kexie-admin"}, strings.NewReader("correct horse battery\n"), &pwOut, &pwOut,
		env(map[string]string{"KEPUBOT_REDIS_URL": e.redisURL}))
	if err != nil {
		t.Fatalf("console passwd: %v\n%s", err, pwOut.String())
	}
	resp, err := http.Get(e.base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "登录") {
		t.Errorf("console login page: %d", resp.StatusCode)
	}

	// Operations endpoints.
	if code, body := e.api("GET", "/healthz", "", nil); code != 200 || body["redis"] != "ok" {
		t.Errorf("healthz = %d %v", code, body)
	}
	resp, err = http.Get(e.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"kepubot_webhook_messages_total", "kepubot_webhook_duration_seconds", "kepubot_wechat_api_calls_total"} {
		if !strings.Contains(string(m), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"KEPUBOT_TIMEZONE": "Mars/Olympus"}, "KEPUBOT_TIMEZONE"},
		{map[string]string{"KEPUBOT_HTTP_ADDR": "8080"}, "KEPUBOT_HTTP_ADDR"},
		{map[string]string{"KEPUBOT_REDIS_URL": "mysql://x"}, "KEPUBOT_REDIS_URL"},
		{map[string]string{"KEPUBOT_WECHAT_AES_KEY": "short"}, "KEPUBOT_WECHAT_AES_KEY"},
		{map[string]string{"KEPUBOT_WECHAT_API_BASE": "ftp://x"}, "KEPUBOT_WECHAT_API_BASE"},
		{map[string]string{"KEPUBOT_PUBLIC_URL": "kepu"}, "KEPUBOT_PUBLIC_URL"},
		{map[string]string{"KEPUBOT_WECHAT_TYPE": "personal"}, "KEPUBOT_WECHAT_TYPE"},
		{map[string]string{"KEPUBOT_LOG_LEVEL": "loud"}, "KEPUBOT_LOG_LEVEL"},
		{map[string]string{"KEPUBOT_ALERT_FEEDS": "https://ok.example.org/cap.xml,ftp://x"}, "KEPUBOT_ALERT_FEEDS"},
	} {
		_, err := LoadConfig("", env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadConfig(%v) = %v, want an error naming %s", tc.env, err, tc.want)
		}
	}
}

func TestConfigFileThenEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "k.yaml")
	os.WriteFile(path, []byte("http:\n  addr: 127.0.0.1:9999\ntimezone: UTC\naccounts:\n  - {id: agri, app_id: wxagri, token: t2}\n"), 0o600)
	cfg, err := LoadConfig(path, env(map[string]string{"KEPUBOT_HTTP_ADDR": "127.0.0.1:7777"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Addr != "127.0.0.1:7777" || cfg.Timezone != "UTC" || len(cfg.Accounts) != 1 {
		t.Errorf("cfg = %+v", cfg)
	}
	os.WriteFile(path, []byte("htp:\n  addr: x\n"), 0o600)
	if _, err := LoadConfig(path, env(nil)); err == nil || !strings.Contains(err.Error(), "htp") {
		t.Errorf("unknown key: err = %v, want one naming it", err)
	}
	os.WriteFile(path, []byte("accounts:\n  - {id: Bad Id, app_id: x, token: t}\n"), 0o600)
	if _, err := LoadConfig(path, env(nil)); err == nil || !strings.Contains(err.Error(), "accounts[0].id") {
		t.Errorf("bad account id: err = %v", err)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	t.Parallel()
	if _, err := LoadConfig("../../configs/kepubot.example.yaml", env(nil)); err != nil {
		t.Fatalf("configs/kepubot.example.yaml: %v", err)
	}
}

func TestRunCommands(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &errb, env(nil)); err != nil || !strings.HasPrefix(out.String(), "kepubot") {
		t.Errorf("version: %q %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errb, env(nil)); err != errUsage {
		t.Errorf("unknown command: err = %v, want errUsage", err)
	}
	// serve on embedded defaults stops cleanly when its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(ctx, []string{"serve"}, &out, &errb, env(map[string]string{"KEPUBOT_HTTP_ADDR": "127.0.0.1:0"})); err != nil {
		t.Errorf("serve with a cancelled context: %v", err)
	}
	if !strings.Contains(errb.String(), "NOTHING IS KEPT") {
		t.Errorf("embedded Redis without the loud warning: %s", errb.String())
	}
}

// TestCampaignEndToEnd is issue 4's first acceptance test through the
// real wiring: users, the review workflow, a preview and a campaign to
// farmers in 派潭, delivered by the workers to the fake WeChat.
func TestCampaignEndToEnd(t *testing.T) {
	t.Parallel()
	e := startE2E(t, map[string]string{"KEPUBOT_QUIET_HOURS": "off"})
	ctx := context.Background()
	token := func(role string) string {
		code, u := e.api("POST", "/api/v1/users", "admintoken", map[string]any{"name": "u-" + role, "role": role})
		if code != 201 {
			t.Fatalf("create %s: %d %v", role, code, u)
		}
		return u["token"].(string)
	}
	editor, reviewer, organizer := token("editor"), token("reviewer"), token("organizer")

	var farmers []string
	for i := range 5 {
		o := fmt.Sprintf("oFarm%02d", i)
		e.onboard(o, "农民", "派潭")
		farmers = append(farmers, o)
	}
	for i := range 3 {
		e.onboard(fmt.Sprintf("oWork%02d", i), "务工人员", "新塘")
	}
	e.say("oFarm04", "退订") // opted out: must not receive

	code, it := e.api("POST", "/api/v1/items", editor, map[string]any{
		"title": "荔枝花期管理要点", "summary": "花期控梢保花，注意防治蒂蛀虫。", "url": "https://kepu.example.org/a/litchi-1",
		"groups": []string{"farmer"}, "towns": []string{}, "topics": []string{"litchi"}, "source": "广东省农业农村厅"})
	if code != 201 {
		t.Fatalf("create item: %d %v", code, it)
	}
	id := it["id"].(string)
	for _, step := range []struct{ verb, tok string }{{"submit", editor}, {"approve", reviewer}, {"publish", organizer}} {
		if code, body := e.api("POST", "/api/v1/items/"+id+"/"+step.verb, step.tok, map[string]any{}); code != 200 {
			t.Fatalf("%s: %d %v", step.verb, code, body)
		}
	}
	code, pv := e.api("POST", "/api/v1/segments/preview", organizer, map[string]any{"expr": "group:farmer & town:paitan"})
	if code != 200 || pv["count"] != float64(4) {
		t.Fatalf("preview = %d %v, want count 4 (5 farmers, one opted out)", code, pv)
	}
	if code, body := e.api("POST", "/api/v1/segments/preview", organizer, map[string]any{"expr": "group:farmer & town:patan"}); code != 400 || body["position"] == nil {
		t.Errorf("bad expression: %d %v, want 400 with a position", code, body)
	}
	code, c := e.api("POST", "/api/v1/campaigns", organizer, map[string]any{"name": "荔枝花期", "audience": "group:farmer & town:paitan", "item_id": id})
	if code != 201 || c["status"] != "draft" {
		t.Fatalf("create campaign: %d %v", code, c)
	}
	cid := c["id"].(string)
	// Started from the shell, which shows the progress until it is done.
	var started, progress bytes.Buffer
	if err := run(ctx, []string{"campaign", "start", cid, "--wait", "--server", e.base, "--token", organizer}, &started, &progress, env(nil)); err != nil {
		t.Fatalf("kepubot campaign start --wait: %v\n%s\n%s", err, started.String(), progress.String())
	}
	if lines := strings.Split(strings.TrimSpace(progress.String()), "\n"); !strings.HasPrefix(lines[len(lines)-1], "done: sent 4, skipped 0, failed 0, pending 0 of 4") {
		t.Errorf("campaign start --wait progress:\n%s", progress.String())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, c = e.api("GET", "/api/v1/campaigns/"+cid, organizer, nil)
		if c["status"] == "done" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The CLI sees the same campaign through the admin API.
	var cli bytes.Buffer
	if err := run(ctx, []string{"campaign", "--server", e.base, "--token", "admintoken", "show", cid}, &cli, &cli, env(nil)); err != nil ||
		!strings.Contains(cli.String(), `"id": "`+cid+`"`) {
		t.Errorf("kepubot campaign show: %v\n%s", err, cli.String())
	}
	cli.Reset()
	if err := run(ctx, []string{"campaign", "list", "--table", "--server", e.base, "--token", "admintoken"}, &cli, &cli, env(nil)); err != nil ||
		!strings.Contains(cli.String(), cid+"  ") || !strings.Contains(cli.String(), "group:farmer & town:paitan") {
		t.Errorf("kepubot campaign list --table: %v\n%s", err, cli.String())
	}
	st, _ := c["stats"].(map[string]any)
	if c["status"] != "done" || st["sent"] != float64(4) || st["queued"] != float64(4) {
		t.Fatalf("campaign = %v, want done with 4 sent of 4", c)
	}
	for _, o := range farmers {
		want := 1
		if o == "oFarm04" {
			want = 0
		}
		if got := len(e.wx.Delivered(e.appID, o)); got != want {
			t.Errorf("%s received %d messages, want %d", o, got, want)
		}
	}
	if got := len(e.wx.Delivered(e.appID, "oWork00")); got != 0 {
		t.Errorf("a worker in 新塘 received %d messages", got)
	}
}
