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

	"github.com/chromedp/chromedp"
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
	t.Skip("no Chromium: browser tests skipped (install Debian's chromium; .ci/run does)")
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
	screenshot(t, ctx, "console-dashboard.png")
	if err := logout(ctx); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe to write and read from two goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(demoCtx, []string{"demo", "--days", "2", "--keep-running"}, &out, &out, env(nil)) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	var base, password string
	for time.Now().Before(deadline) {
		if m := demoServiceRE.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			password = demoPasswordRE.FindStringSubmatch(out.String())[1]
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if base == "" {
		t.Fatalf("the demo did not come up:\n%s", out.String())
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
