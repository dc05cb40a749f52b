package signup_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/signup"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// fake is the package's one fake WeChat: the SDK's API base is process-wide.
var (
	fake   *wechattest.Server
	appSeq atomic.Int64
)

var shanghai = signup.Shanghai()

func TestMain(m *testing.M) {
	// Local times must come out in Asia/Shanghai whatever the process's TZ.
	time.Local = time.FixedZone("elsewhere", -5*3600)
	fake = wechattest.New(wechattest.Options{Seed: 7, Now: clocks.now})
	if err := wechat.SetAPIBase(fake.URL()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	fake.Close()
	os.Exit(code)
}

// clock is a settable clock. The fake WeChat is shared by the package's
// tests, so it asks clocks for the clock of the app calling.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// clocks lets the shared fake follow the running test's clock: tests
// that move their clock do not run in parallel.
var clocks = &clockSwitch{}

type clockSwitch struct {
	mu  sync.Mutex
	cur *clock
}

func (c *clock) use() { clocks.mu.Lock(); clocks.cur = c; clocks.mu.Unlock() }

func (x *clockSwitch) now() time.Time {
	x.mu.Lock()
	c := x.cur
	x.mu.Unlock()
	if c == nil {
		return time.Now()
	}
	return c.Now()
}

type bundle struct {
	ctx      context.Context
	rdb      redis.UniversalClient
	clock    *clock
	appID    string
	events   *content.Store
	profiles *profile.Store
	scenes   *qrcode.Store
	queue    *queue.Queue
	svc      *signup.Service
	phone    *wechattest.Phone
	ran      *ranLog
}

// ranLog records the jobs the worker ran, with the clock at the time.
type ranLog struct {
	mu   sync.Mutex
	jobs map[string][]time.Time
}

func (r *ranLog) count(id string) int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.jobs[id]) }

func setup(t *testing.T, start time.Time, template string) *bundle {
	t.Helper()
	ctx := context.Background()
	b := &bundle{ctx: ctx, rdb: redistest.Start(t), clock: &clock{t: start}, ran: &ranLog{jobs: map[string][]time.Time{}}}
	b.clock.use()
	b.appID = fmt.Sprintf("wxsignup%08d", appSeq.Add(1))
	acct := wechattest.Account{AppID: b.appID, Secret: "sec", Token: "tok"}
	fake.AddAccount(acct)
	var err error
	if b.profiles, err = profile.NewStore(ctx, b.rdb, shanghai); err != nil {
		t.Fatal(err)
	}
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	client, err := wechat.New(wechat.Config{AccountID: "default", AppID: b.appID, AppSecret: "sec"}, b.rdb, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.queue, err = queue.New(b.rdb, queue.Options{Name: "default", VisibilityTimeout: 2 * time.Second,
		PollInterval: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 50 * time.Millisecond }, Now: b.clock.Now}); err != nil {
		t.Fatal(err)
	}
	b.events = content.NewStore(b.rdb, b.clock.Now)
	b.scenes = qrcode.NewStore(b.rdb)
	b.svc, err = signup.New(signup.Config{
		Redis: b.rdb, Events: b.events, Profiles: b.profiles, Scenes: b.scenes, Tax: tax,
		Queue:  func(string) *queue.Queue { return b.queue },
		Sender: func(string) (signup.Sender, error) { return client, nil },
		Rules: func(string) plan.Rules {
			return plan.Rules{AccountType: plan.ServiceAccount, TemplateConfigured: template != ""}
		},
		Template: template,
		Now:      b.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	bt := bot.New(tax, bot.Options{Scenes: b.scenes, Routes: []func(*bot.Mux){b.svc.Routes}})
	wh, err := bot.NewWebhook(b.profiles, hooked{bt, b.svc, b.scenes}, []bot.Account{{ID: "default", AppID: b.appID, Token: acct.Token}},
		bot.WebhookOptions{Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(wh)
	t.Cleanup(hs.Close)
	b.phone = wechattest.NewPhone(fake, acct, hs.URL, false)
	return b
}

// hooked is the bot with the check-in hook the lead wires into
// bot/dialogs.go applyScene: a scan of an event's code is a check-in.
type hooked struct {
	b      *bot.Bot
	s      *signup.Service
	scenes *qrcode.Store
}

func (h hooked) Handle(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	m := req.Msg
	if m.Type == "event" && (m.Event == "SCAN" || m.Event == "subscribe") {
		sc, err := h.scenes.Get(ctx, m.Account, strings.TrimPrefix(m.EventKey, "qrscene_"))
		if err == nil && sc.Event != "" {
			if req.New { // as Bot.Handle does
				req.Profile.CreatedAt, req.Profile.Subscribed = req.Now, true
			}
			req.Profile.TouchEvent(m.CreateTime)
			if r, ok, err := h.s.CheckIn(ctx, req, sc); err != nil || ok {
				return r, err
			}
		}
	}
	return h.b.Handle(ctx, req)
}

// work runs the queue's workers until the test ends.
func (b *bundle) work(t *testing.T) {
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	h := queue.HandlerFunc(func(ctx context.Context, j queue.Job) error {
		b.ran.mu.Lock()
		b.ran.jobs[j.ID] = append(b.ran.jobs[j.ID], b.clock.Now())
		b.ran.mu.Unlock()
		if j.Kind == "sentinel" {
			return nil
		}
		return b.svc.Handle(ctx, j)
	})
	go func() {
		defer close(done)
		if err := b.queue.Run(ctx, "test", 4, h); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("queue.Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// settle waits until a job enqueued now has run: every job due before it
// was moved into the streams by then.
func (b *bundle) settle(t *testing.T) {
	t.Helper()
	id := fmt.Sprintf("sentinel%d", time.Now().UnixNano())
	if err := b.queue.Enqueue(b.ctx, queue.Job{ID: id, Kind: "sentinel", Lane: queue.LanePriority}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sentinel job", func() bool { return b.ran.count(id) > 0 })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// event creates and publishes an event.
func (b *bundle) event(t *testing.T, e content.Event) content.Event {
	t.Helper()
	e, err := b.events.CreateEvent(b.ctx, "default", e)
	if err != nil {
		t.Fatal(err)
	}
	if e, err = b.events.PublishEvent(b.ctx, "default", e.ID); err != nil {
		t.Fatal(err)
	}
	return e
}

func (b *bundle) text(t *testing.T, openID, text string) wechattest.Reply {
	t.Helper()
	r, err := b.phone.Text(b.ctx, openID, text)
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("Text(%s, %q) = %d %q, %v", openID, text, r.Status, r.Raw, err)
	}
	return r
}

// texts returns what openID received through channel, by content.
func (b *bundle) received(openID, channel string) []wechattest.Message {
	var out []wechattest.Message
	for _, m := range fake.Delivered(b.appID, openID) {
		if channel == "" || m.Channel == channel {
			out = append(out, m)
		}
	}
	return out
}

func jobOf(id, payload string) queue.Job {
	kind := signup.JobRemind
	return queue.Job{ID: id, Kind: kind, Lane: queue.LanePriority, Payload: []byte(payload)}
}
