package quiz_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/quiz"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// clock is a settable clock shared by the fake WeChat (CreateTime) and
// the webhook (Request.Now).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	ctx      context.Context
	rdb      redis.UniversalClient
	profiles *profile.Store
	lib      *content.Store
	quiz     *quiz.Quiz
	tax      *taxonomy.Taxonomy
	clock    *clock
	wx       *wechattest.Server
	phone    *wechattest.Phone
	account  wechattest.Account
	url      string
}

func setup(t testing.TB, opts ...func(*quiz.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{ctx: ctx, rdb: redistest.Start(t), clock: &clock{t: time.Date(2027, 9, 20, 9, 0, 0, 0, time.UTC)}}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	var err error
	if f.profiles, err = profile.NewStore(ctx, f.rdb, loc); err != nil {
		t.Fatal(err)
	}
	if f.tax, err = taxonomy.Default(); err != nil {
		t.Fatal(err)
	}
	f.lib = content.NewStore(f.rdb, f.clock.Now)
	cfg := quiz.Config{Redis: f.rdb, Content: f.lib, Taxonomy: f.tax, Location: loc, CacheTTL: -1}
	for _, o := range opts {
		o(&cfg)
	}
	f.quiz, err = quiz.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := bot.New(f.tax, bot.Options{Routes: []func(*bot.Mux){f.quiz.Routes}, Erasers: []bot.Eraser{f.quiz}})
	f.account = wechattest.Account{AppID: "wxquiztest", Secret: "s", Token: "tok123"}
	wh, err := bot.NewWebhook(f.profiles, b, []bot.Account{{ID: "default", AppID: f.account.AppID, Token: f.account.Token}},
		bot.WebhookOptions{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/wechat", wh)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	f.url = hs.URL + "/wechat"
	f.wx = wechattest.New(wechattest.Options{Now: f.clock.Now})
	t.Cleanup(f.wx.Close)
	f.wx.AddAccount(f.account)
	f.phone = wechattest.NewPhone(f.wx, f.account, f.url, false)
	return f
}

// competition stores n questions (the answer of question i is option
// i%4) and publishes a competition over them.
func (f *fixture) competition(t testing.TB, n int, mod func(c *content.Competition)) (content.Competition, []content.Question) {
	t.Helper()
	var qs []content.Question
	var ids []string
	for i := range n {
		q, err := f.lib.CreateQuestion(f.ctx, "default", content.Question{
			Stem:        fmt.Sprintf("第%d个问题：哪一项正确？", i+1),
			Options:     []string{"甲", "乙", "丙", "丁"},
			Answer:      []int{i % 4},
			Explanation: fmt.Sprintf("解析%d", i+1),
			Topic:       "health", Difficulty: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q)
		ids = append(ids, q.ID)
	}
	c := content.Competition{Code: "KX2027", Title: "公民科学素质知识竞赛", StartsAt: f.clock.Now().Add(-time.Hour),
		EndsAt: f.clock.Now().Add(30 * 24 * time.Hour), QuestionIDs: ids, TimeLimitSeconds: 30, PassMark: n * 6 / 10, Attempts: 2}
	if mod != nil {
		mod(&c)
	}
	c, err := f.lib.CreateCompetition(f.ctx, "default", c)
	if err != nil {
		t.Fatal(err)
	}
	if c, err = f.lib.PublishCompetition(f.ctx, "default", c.ID); err != nil {
		t.Fatal(err)
	}
	return c, qs
}

// subscriber imports a profiled subscriber.
func (f *fixture) subscriber(t testing.TB, openID, group, town string) {
	t.Helper()
	p := &profile.Profile{OpenID: openID, Group: group, Town: town, Subscribed: true, CreatedAt: f.clock.Now()}
	if _, err := f.profiles.Import(f.ctx, "default", []*profile.Profile{p}); err != nil {
		t.Fatal(err)
	}
}

// text sends a text after d of the participant's time.
func (f *fixture) text(t testing.TB, openID, content string, d time.Duration) wechattest.Reply {
	t.Helper()
	f.clock.Add(d)
	r, err := f.phone.Text(f.ctx, openID, content)
	if err != nil {
		t.Fatalf("Text(%q): %v", content, err)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("Text(%q): status %d: %s", content, r.Status, r.Raw)
	}
	return r
}

func wantContains(t testing.TB, r wechattest.Reply, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.Content, p) {
			t.Errorf("reply %q does not contain %q", r.Content, p)
		}
	}
}
