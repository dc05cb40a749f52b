package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/zengcheng-kexie/kepubot/content/audio"
)

// Browser tests drive the organizer console in a real headless Chromium
// (Debian's chromium package) through chromedp, against the real serve
// wiring. Without a Chromium they are skipped, unless
// KEPUBOT_BROWSER_TESTS=1 (set by .ci/run), which makes a missing browser
// a failure: CI never passes by skipping them.
//
// Screenshots go to KEPUBOT_ARTIFACTS (default: the test's temp dir).

// chromium returns the browser's path, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("KEPUBOT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv("KEPUBOT_BROWSER_TESTS") == "1" {
		t.Fatal("KEPUBOT_BROWSER_TESTS=1 but no Chromium found (install Debian's chromium, or set KEPUBOT_CHROMIUM)")
	}
	t.Skip("SKIP: no Chromium found, browser tests skipped. Install Debian's chromium (.ci/run does) or set " +
		"KEPUBOT_CHROMIUM=/path/to/chrome; KEPUBOT_BROWSER_TESTS=1 makes a missing browser a failure")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and no
// network of its own beyond what the page asks for; the context ends with
// the test (or after limit).
func newBrowser(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("no-sandbox", true), // CI runs as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	// Every page must run clean: an uncaught exception, a console error or
	// a refusal by the Content-Security-Policy (which would silently stop
	// a script or a style) fails the test.
	var mu sync.Mutex
	var problems []string
	note := func(s string) {
		mu.Lock()
		problems = append(problems, s)
		mu.Unlock()
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *cdplog.EventEntryAdded:
			if e := ev.Entry; e != nil && (e.Level == cdplog.EntryLevelError || strings.Contains(e.Text, "Content Security Policy")) &&
				!strings.HasSuffix(e.URL, "/favicon.ico") &&
				!strings.HasSuffix(e.URL, "/console/login") && // a refused login answers 401 or 429 on purpose
				!(strings.HasSuffix(e.URL, "/audio") && strings.Contains(e.Text, "status of 400")) { // so does a refused recording
				note(fmt.Sprintf("%s %s: %s", e.Level, e.URL, e.Text))
			}
		case *runtime.EventExceptionThrown:
			if d := ev.ExceptionDetails; d != nil {
				text := d.Text
				if d.Exception != nil {
					text += " " + d.Exception.Description
				}
				note(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, text))
			}
		}
	})
	if err != nil {
		t.Fatalf("listen to the page: %v", err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("in the browser: %s", p)
		}
	})
	return ctx
}

// artifact is where a test keeps a file for people to look at after the run.
func artifact(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("KEPUBOT_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// screenshot saves the whole page as a PNG artifact.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := artifact(t, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// consoleUser creates an admin-API user with role and gives them a console
// password; it returns the user's name.
func (e *e2e) consoleUser(role, password string) string {
	e.t.Helper()
	name := "b-" + role
	code, u := e.api("POST", "/api/v1/users", "admintoken", map[string]any{"name": name, "role": role})
	if code != 201 {
		e.t.Fatalf("create %s: %d %v", role, code, u)
	}
	if err := e.app.console.SetPassword(context.Background(), u["id"].(string), password); err != nil {
		e.t.Fatal(err)
	}
	return name
}

// login logs name in through the login form and waits for the dashboard.
// It fails when the login page comes back instead (wrong password).
func login(ctx context.Context, base, name, password string) error {
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	if err != nil {
		return err
	}
	if err := submit(ctx, `input[name=password]`); err != nil {
		return err
	}
	where, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return err
	}
	if strings.HasSuffix(where, "/console/login") {
		return fmt.Errorf("login as %s: still on the login page", name)
	}
	return nil
}

// submit submits the form of the element css selects and waits for the
// page that answers it.
func submit(ctx context.Context, css string) error {
	resp, err := chromedp.RunResponse(ctx, chromedp.Submit(chromedp.CSS(css)))
	if err != nil {
		return fmt.Errorf("submit %s: %w", css, err)
	}
	if resp != nil && resp.Status >= 500 {
		return fmt.Errorf("submit %s: status %d", css, resp.Status)
	}
	return nil
}

// logout ends the session from the header's button.
func logout(ctx context.Context) error {
	return chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)),
	)
}

// text reads the text of the first element that matches a CSS selector.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

func TestBrowserLoginAndDashboard(t *testing.T) {
	ctx := newBrowser(t, 90*time.Second)
	e := startE2E(t)
	const pw = "browser-test-password"
	organizer := e.consoleUser("organizer", pw)

	// A wrong password is refused with a message and no session.
	if err := login(ctx, e.base, organizer, "wrong password!"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	if msg := text(t, ctx, ".error"); !strings.Contains(msg, "密码") {
		t.Errorf("wrong password message = %q", msg)
	}

	if err := login(ctx, e.base, organizer, pw); err != nil {
		t.Fatal(err)
	}
	if title := text(t, ctx, "main h1"); !strings.Contains(title, "概览") {
		t.Errorf("after login the page title is %q, want the dashboard", title)
	}
	// Nobody follows yet: the charts say so rather than draw empty axes.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`html.charts-drawn`))); err != nil {
		t.Fatal(err)
	}
	if empty := text(t, ctx, "figure .chart-empty"); empty != "暂无数据" {
		t.Errorf("an empty chart shows %q, want 暂无数据", empty)
	}
	screenshot(t, ctx, "console-dashboard.png")
	if err := logout(ctx); err != nil {
		t.Fatal(err)
	}
}

// written returns what w has collected so far in buf, under w's lock.
func written(w *lockedWriter, buf *bytes.Buffer) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return buf.String()
}

var (
	demoServiceRE  = regexp.MustCompile(`service still running at (http://\S+)`)
	demoPasswordRE = regexp.MustCompile(`password ([0-9a-f]+)`)
)

// The demo's promise: after the simulated week, the console shows each
// persona's phone with what they received, next to the dashboard.
func TestBrowserDemoPhoneView(t *testing.T) {
	ctx := newBrowser(t, 3*time.Minute)
	demoCtx, stop := context.WithCancel(context.Background())
	var buf bytes.Buffer
	out := &lockedWriter{w: &buf}
	done := make(chan error, 1)
	go func() { done <- run(demoCtx, []string{"demo", "--days", "2", "--keep-running"}, out, out, env(nil)) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	var base, password string
	for time.Now().Before(deadline) {
		if m := demoServiceRE.FindStringSubmatch(written(out, &buf)); m != nil {
			base = m[1]
			password = demoPasswordRE.FindStringSubmatch(written(out, &buf))[1]
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if base == "" {
		t.Fatalf("the demo did not come up:\n%s", written(out, &buf))
	}
	if err := login(ctx, base, "organizer", password); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav a[href="/console/phones"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.phone .chat`))); err != nil {
		t.Fatal(err)
	}
	// 陈伯 searched for 荔枝 施肥 and got daily tips by customer-service message.
	chat := text(t, ctx, ".phone .chat")
	for _, want := range []string{"荔枝 施肥", "客服消息"} {
		if !strings.Contains(chat, want) {
			t.Errorf("陈伯's phone lacks %q:\n%s", want, chat)
		}
	}
	screenshot(t, ctx, "demo-phone-view.png")
}

// The acceptance, in the browser: an editor writes an item, a
// reviewer approves it, an organizer publishes it, builds the audience
// "farmers in 派潭" and reads its live count, composes a campaign, sees
// the plan and the phone preview, sends it, and sees the result on the
// campaign page and the dashboard. The fake WeChat confirms who got it.
func TestBrowserOrganizerWalkthrough(t *testing.T) {
	ctx := newBrowser(t, 3*time.Minute)
	e := startE2E(t, map[string]string{"KEPUBOT_QUIET_HOURS": "off"})
	var farmers []string
	for i := range 5 {
		o := fmt.Sprintf("oBrowserFarm%02d", i)
		e.onboard(o, "农民", "派潭")
		farmers = append(farmers, o)
	}
	e.onboard("oBrowserWork00", "务工人员", "新塘")
	e.say("oBrowserFarm04", "退订") // opted out: must not receive

	const pw = "browser-test-password"
	editor, reviewer, organizer := e.consoleUser("editor", pw), e.consoleUser("reviewer", pw), e.consoleUser("organizer", pw)
	do, must := steps(t, ctx)

	// The editor writes and submits.
	must("login editor", login(ctx, e.base, editor, pw))
	do("write the item", writeLitchiItem(e.base, "荔枝花期管理要点", "https://kepu.example.org/a/litchi-flower")...)
	must("create the draft", submit(ctx, `form.itemform button`))
	where, err := chromedp.Run(ctx, chromedp.Location())
	must("location", err)
	itemURL, ok := strings.CutPrefix(where, e.base)
	if !ok || !strings.HasPrefix(itemURL, "/console/items/") {
		t.Fatalf("after creating, the browser is at %s:\n%s", where, text(t, ctx, "main"))
	}
	uploadRecording(t, ctx, e.base+itemURL)
	must("submit for review", submit(ctx, `form[action$="/submit"] button`))
	must("logout editor", logout(ctx))

	// The reviewer approves from the review queue.
	must("login reviewer", login(ctx, e.base, reviewer, pw))
	do("open the review queue", chromedp.Navigate(e.base+"/console/review"), chromedp.WaitVisible(chromedp.CSS(`main`)))
	if q := text(t, ctx, "main"); !strings.Contains(q, "荔枝花期管理要点") {
		t.Fatalf("the review queue lacks the item:\n%s", q)
	}
	must("approve", submit(ctx, `form[action="`+itemURL+`/approve"] button`))
	must("logout reviewer", logout(ctx))

	// The organizer publishes, builds the audience and sends.
	must("login organizer", login(ctx, e.base, organizer, pw))
	do("open the item", chromedp.Navigate(e.base+itemURL), chromedp.WaitVisible(chromedp.CSS(`form[action$="/publish"]`)))
	must("publish", submit(ctx, `form[action$="/publish"] button`))
	if page := text(t, ctx, "main"); !strings.Contains(page, "已发布") {
		t.Errorf("the item page after publishing does not say 已发布:\n%s", page)
	}

	do("build the audience", chromedp.Navigate(e.base+"/console/segments"),
		chromedp.WaitVisible(chromedp.CSS(`#seg-builder`)),
		chromedp.Click(chromedp.CSS(`#seg-builder input[name=group][value=farmer]`)),
		chromedp.Click(chromedp.CSS(`#seg-builder input[name=town][value=paitan]`)),
	)
	// The live count (segments.js) updates without a page load: 5 farmers,
	// one opted out.
	count, err := chromedp.Run(ctx, chromedp.Poll[string](
		`(() => { const b = document.querySelector('#seg-count .big'); return b && b.textContent.trim() === '4' ? b.textContent : null })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("the live count never showed 4: %v\n%s", err, text(t, ctx, "#seg-count"))
	}
	t.Logf("live count: %s", count)

	do("compose", chromedp.Navigate(e.base+"/console/campaigns/new"), chromedp.WaitVisible(chromedp.CSS(`form.camp-form`)),
		chromedp.SendKeys(chromedp.CSS(`form.camp-form input[name=name]`), "派潭荔枝花期提醒"),
		chromedp.SetValue(chromedp.CSS(`select[name=item_id]`), strings.TrimPrefix(itemURL, "/console/items/")),
		chromedp.SendKeys(chromedp.CSS(`form.camp-form input[name=expr]`), "group:farmer & town:paitan"),
	)
	must("save the draft", submit(ctx, `form.camp-form button`))
	do("see the plan and the phone", chromedp.WaitVisible(chromedp.CSS(`.camp-plan`)), chromedp.WaitVisible(chromedp.CSS(`.camp-preview`)))
	if plan := text(t, ctx, ".camp-plan"); !strings.Contains(plan, "4") {
		t.Errorf("the plan does not count the 4 reachable farmers:\n%s", plan)
	}
	screenshot(t, ctx, "console-campaign-plan.png")
	must("send now", submit(ctx, `form[action$="/start"] button`))
	campaignURL, err := chromedp.Run(ctx, chromedp.Location())
	must("location", err)

	// The sends are done when every reachable farmer has the message.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := 0
		for _, o := range farmers[:4] {
			got += len(e.wx.Delivered(e.appID, o))
		}
		if got == 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i, o := range farmers {
		want := 1
		if i == 4 {
			want = 0
		}
		if got := len(e.wx.Delivered(e.appID, o)); got != want {
			t.Errorf("%s received %d messages, want %d", o, got, want)
		}
	}
	if got := len(e.wx.Delivered(e.appID, "oBrowserWork00")); got != 0 {
		t.Errorf("a worker in 新塘 received %d messages", got)
	}
	// The campaign page shows it done with 4 sent (it refreshes itself
	// while sending; a reload is the no-JS way).
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('#camp-stats') !== null && document.body.innerText.includes('已完成')`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		do("reload the campaign", chromedp.Navigate(campaignURL), chromedp.WaitVisible(chromedp.CSS(`#camp-stats`)))
	}
	if st := text(t, ctx, "main"); !strings.Contains(st, "已完成") {
		t.Errorf("the campaign page does not show it done:\n%s", st)
	}
	screenshot(t, ctx, "console-campaign-sent.png")

	do("open the dashboard", chromedp.Navigate(e.base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	if d := text(t, ctx, "main"); !strings.Contains(d, "派潭荔枝花期提醒") {
		t.Errorf("the dashboard does not list the campaign:\n%s", d)
	}
	// Every chart canvas holds a drawn Chart.js chart with data.
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('canvas')).map(c => {
		const ch = window.Chart && Chart.getChart(c);
		return c.id + ':' + (ch ? ch.data.datasets.reduce((n, d) => n + d.data.length, 0) : 'none');
	})`))
	must("read the charts", err)
	if len(charts) < 3 {
		t.Errorf("the dashboard has %d charts, want at least 3 (towns, coverage, growth): %v", len(charts), charts)
	}
	for _, c := range charts {
		if strings.HasSuffix(c, ":none") || strings.HasSuffix(c, ":0") {
			t.Errorf("chart %s is not drawn", c)
		}
	}
	t.Logf("charts: %v", charts)
	screenshot(t, ctx, "console-dashboard-after-campaign.png")

	// A second campaign, scheduled for tomorrow 08:00 Beijing time.
	do("compose another", chromedp.Navigate(e.base+"/console/campaigns/new"), chromedp.WaitVisible(chromedp.CSS(`form.camp-form`)),
		chromedp.SendKeys(chromedp.CSS(`form.camp-form input[name=name]`), "明早荔枝提醒"),
		chromedp.SetValue(chromedp.CSS(`select[name=item_id]`), strings.TrimPrefix(itemURL, "/console/items/")),
		chromedp.SendKeys(chromedp.CSS(`form.camp-form input[name=expr]`), "group:farmer & town:paitan"),
	)
	must("save the second draft", submit(ctx, `form.camp-form button`))
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	must("zone", err)
	y, m, d := time.Now().In(shanghai).AddDate(0, 0, 1).Date()
	sendAt := time.Date(y, m, d, 8, 0, 0, 0, shanghai)
	do("pick the time", chromedp.WaitVisible(chromedp.CSS(`form[action$="/schedule"] input[name=send_at]`)),
		chromedp.SetValue(chromedp.CSS(`form[action$="/schedule"] input[name=send_at]`), sendAt.Format("2006-01-02T15:04")))
	must("schedule", submit(ctx, `form[action$="/schedule"] button`))
	if page := text(t, ctx, "main"); !strings.Contains(page, "已排期") || !strings.Contains(page, sendAt.Format("2006-01-02 15:04")) {
		t.Errorf("the scheduled campaign's page does not show 已排期 at %s:\n%s", sendAt.Format("2006-01-02 15:04"), page)
	}
	code, list := e.api("GET", "/api/v1/campaigns/"+strings.TrimPrefix(strings.TrimPrefix(mustLocation(t, ctx), e.base), "/console/campaigns/"), "admintoken", nil)
	if code != 200 || list["status"] != "scheduled" {
		t.Errorf("the API sees the second campaign as %d %v, want scheduled", code, list["status"])
	}
}

// uploadRecording, on an item page as an editor: a text file named .mp3
// is refused with the Chinese reason and the item keeps no recording;
// then an 8-second AMR file is uploaded and the page shows it.
func uploadRecording(t *testing.T, ctx context.Context, itemURL string) {
	t.Helper()
	do, must := steps(t, ctx)
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "not-audio.mp3"), filepath.Join(dir, "litchi.amr")
	must("write the bad file", os.WriteFile(bad, []byte("这不是录音文件，只是一段文字"), 0o600))
	must("write the recording", os.WriteFile(good, audio.SilentAMR(8*time.Second), 0o600))

	do("choose the bad file", chromedp.WaitVisible(chromedp.CSS(`form.audioform`)),
		chromedp.SetUploadFiles(chromedp.CSS(`form.audioform input[name=file]`), []string{bad}))
	must("upload the bad file", submit(ctx, `form.audioform button`))
	do("see the refusal", chromedp.WaitVisible(chromedp.CSS(`#audio`)))
	if page := text(t, ctx, "main"); !strings.Contains(page, "只能上传 MP3 或 AMR") || !strings.Contains(text(t, ctx, "#audio"), "还没有录音") {
		t.Errorf("a text file as a recording is not refused in Chinese, or was kept:\n%s", page)
	}

	do("back to the item", chromedp.Navigate(itemURL), chromedp.WaitVisible(chromedp.CSS(`form.audioform`)),
		chromedp.SetUploadFiles(chromedp.CSS(`form.audioform input[name=file]`), []string{good}))
	must("upload the recording", submit(ctx, `form.audioform button`))
	do("see the recording", chromedp.WaitVisible(chromedp.CSS(`#audio`)))
	if got := text(t, ctx, "#audio"); !strings.Contains(got, "AMR 格式，8 秒") {
		t.Errorf("the item page does not show the 8-second AMR recording:\n%s", got)
	}
	screenshot(t, ctx, "console-item-audio.png")
}

// mustLocation is the page's address.
func mustLocation(t *testing.T, ctx context.Context) string {
	t.Helper()
	where, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return where
}

// Every page of the console opens for an admin and runs clean in the
// browser (newBrowser fails the test on a script error or a refusal by
// the Content-Security-Policy); each is kept as a screenshot.
func TestBrowserEveryPage(t *testing.T) {
	ctx := newBrowser(t, 3*time.Minute)
	e := startE2E(t)
	const pw = "browser-test-password"
	admin := e.consoleUser("admin", pw)
	e.onboard("oBrowserPageFarm", "农民", "派潭")
	e.say("oBrowserPageFarm", "荔枝 施肥") // a search for the demand log
	if err := login(ctx, e.base, admin, pw); err != nil {
		t.Fatal(err)
	}
	pages := []string{"/console/", "/console/items", "/console/items/new", "/console/review", "/console/segments",
		"/console/segments?group=farmer&town=paitan", "/console/campaigns", "/console/campaigns/new",
		"/console/competitions", "/console/competitions/new", "/console/events", "/console/events/new",
		"/console/jobs", "/console/deadletters", "/console/demand", "/console/exports", "/console/users", "/console/audit"}
	for _, p := range pages {
		resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(e.base+p))
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		if resp.Status != 200 {
			t.Errorf("%s: status %d", p, resp.Status)
		}
		if h1 := text(t, ctx, "main h1"); h1 == "" {
			t.Errorf("%s has no heading", p)
		}
		name := strings.Trim(strings.NewReplacer("/console/", "", "/", "-", "?", "-", "&", "-", "=", "-").Replace(p), "-")
		if name == "" {
			name = "dashboard"
		}
		screenshot(t, ctx, "page-"+name+".png")
	}
	// A checkbox sits on the line of its label, also after a form error.
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(e.base+"/console/campaigns/new")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.camp-form button`)),
		chromedp.WaitVisible(chromedp.CSS(`form.camp-form label.check`))); err != nil {
		t.Fatal(err)
	}
	inline, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const l = document.querySelector('form.camp-form label.check'), box = l.querySelector('input').getBoundingClientRect(), r = l.getBoundingClientRect();
		return box.top - r.top < 12 && r.height < 3 * box.height + 16;
	})()`))
	if err != nil || !inline {
		t.Errorf("the notice checkbox is not on its label's line (%v)", err)
	}
}

// steps returns the walkthroughs' two step helpers: do runs browser
// actions, must checks an error; each stops the test naming the step.
func steps(t *testing.T, ctx context.Context) (do func(string, ...chromedp.Action[chromedp.Void]), must func(string, error)) {
	do = func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must = func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	return do, must
}

// writeLitchiItem opens the console's new-item form and fills it with a
// litchi tip for farmers, as the README's walkthrough does.
func writeLitchiItem(base, title, url string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/console/items/new"), chromedp.WaitVisible(chromedp.CSS(`form.itemform`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=title]`), title),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=summary]`), "花期控梢保花，注意防治蒂蛀虫。"),
		chromedp.SendKeys(chromedp.CSS(`input[name=url]`), url),
		chromedp.SendKeys(chromedp.CSS(`input[name=source]`), "广东省农业农村厅"),
		chromedp.Click(chromedp.CSS(`input[name=topics][value=litchi]`)),
		chromedp.Click(chromedp.CSS(`input[name=groups][value=farmer]`)),
	}
}
