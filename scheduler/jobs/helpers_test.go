package jobs_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign/campaigntest"
	"github.com/zengcheng-kexie/kepubot/scheduler/jobs"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// fake is the package's one fake WeChat: the SDK's API base is
// process-wide, so tests share it and each takes a fresh appid.
var (
	fake   *wechattest.Server
	appSeq atomic.Int64
)

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func TestMain(m *testing.M) {
	fake = wechattest.New(wechattest.Options{Seed: 5})
	if err := wechat.SetAPIBase(fake.URL()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	fake.Close()
	os.Exit(code)
}

// clock is a settable test clock.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock { c := &clock{}; c.Set(t); return c }
func (c *clock) Now() time.Time   { return *c.t.Load() }
func (c *clock) Set(t time.Time)  { c.t.Store(&t) }

// memItems is an in-memory content library.
type memItems = campaigntest.Items

type bundle struct {
	ctx       context.Context
	rdb       redis.UniversalClient
	appID     string
	client    *wechat.Client
	tax       *taxonomy.Taxonomy
	profiles  *profile.Store
	segments  *segment.Store
	store     *campaign.Store
	engine    *campaign.Engine
	queue     *queue.Queue
	items     memItems
	campaigns jobs.Starter
	clock     *clock
}

func setup(t *testing.T, start time.Time) *bundle {
	t.Helper()
	ctx := context.Background()
	b := &bundle{ctx: ctx, rdb: redistest.Start(t), clock: newClock(start)}
	b.appID = fmt.Sprintf("wxjobs%010d", appSeq.Add(1))
	fake.AddAccount(wechattest.Account{AppID: b.appID, Secret: "sec", Token: "tok"})
	var err error
	if b.profiles, err = profile.NewStore(ctx, b.rdb, shanghai); err != nil {
		t.Fatal(err)
	}
	if b.client, err = wechat.New(wechat.Config{AccountID: "default", AppID: b.appID, AppSecret: "sec"}, b.rdb, nil, nil); err != nil {
		t.Fatal(err)
	}
	if b.tax, err = taxonomy.Default(); err != nil {
		t.Fatal(err)
	}
	b.segments = segment.NewStore(b.rdb, b.tax)
	if b.queue, err = queue.New(b.rdb, queue.Options{Name: "default", Now: b.clock.Now,
		Backoff: func(int) time.Duration { return 20 * time.Millisecond }}); err != nil {
		t.Fatal(err)
	}
	b.items = memItems{
		"it1": {ID: "it1", Title: "荔枝花期管理", Summary: "控梢保花。", URL: "https://kepu.example.org/a/1", Status: content.StatusPublished,
			Audience: content.Audience{Topics: []string{"litchi"}}, Season: content.Season{SolarTerms: []string{"清明"}}},
		"it2": {ID: "it2", Title: "台风来了怎么办", Summary: "加固门窗。", URL: "https://kepu.example.org/a/2", Status: content.StatusPublished,
			Audience: content.Audience{Topics: []string{"disaster"}}},
	}
	b.store = campaign.NewStore(b.rdb)
	quiet, _ := plan.ParseQuietHours("off")
	b.engine = campaign.New(campaign.Config{
		Store: b.store, Profiles: b.profiles, Items: b.items, Queue: func(string) *queue.Queue { return b.queue },
		Sender:  func(string) (campaign.Sender, error) { return b.client, nil },
		Compile: b.compile,
		Rules:   func(string) plan.Rules { return plan.Rules{AccountType: plan.ServiceAccount, Loc: shanghai} },
		Quiet:   quiet, Caps: plan.Caps{PerDay: 5, PerWeek: 20}, Loc: shanghai, Now: b.clock.Now,
	})
	b.campaigns = b.engine
	return b
}

func (b *bundle) compile(expr string, at time.Time) (profile.Program, error) {
	e, err := segment.Parse(expr, b.tax)
	if err != nil {
		return nil, err
	}
	return e.Compile(at, shanghai), nil
}

// workers runs the delivery queue until the test ends.
func (b *bundle) workers(t *testing.T) {
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.queue.Run(ctx, "w", 2, b.engine)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
