package campaign_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
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
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// fake is the package's one fake WeChat: the SDK's API base is process-wide.
var (
	fake   *wechattest.Server
	appSeq atomic.Int64
	// clock runs at real speed from a fixed start, so queue delays pass.
	clock = &testClock{t: time.Date(2027, 4, 6, 10, 0, 0, 0, shanghai), real: time.Now()}
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// testClock is a test's clock: fixed at t, or when real is set, t plus
// the real time elapsed since real.
type testClock struct {
	mu   sync.Mutex
	t    time.Time
	real time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.real.IsZero() {
		return c.t.Add(time.Since(c.real))
	}
	return c.t
}

func TestMain(m *testing.M) {
	if os.Getenv(envWorker) == "1" {
		os.Exit(faultWorker()) // a worker process of the fault tests
	}
	fake = wechattest.New(wechattest.Options{Seed: 3})
	if err := wechat.SetAPIBase(fake.URL()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	fake.Close()
	os.Exit(code)
}

// memItems is an in-memory content library.
type memItems = campaigntest.Items

type bundle struct {
	ctx      context.Context
	rdb      redis.UniversalClient
	appID    string
	profiles *profile.Store
	store    *campaign.Store
	engine   *campaign.Engine
	queue    *queue.Queue
	items    memItems
	now      func() time.Time
}

func setup(t testing.TB, now func() time.Time, opts ...func(*bundle, *campaign.Config)) *bundle {
	return setupQuiet(t, now, "off", opts...)
}

// setupQuiet is setup with quiet hours; opts change the engine's config.
func setupQuiet(t testing.TB, now func() time.Time, quiet string, opts ...func(*bundle, *campaign.Config)) *bundle {
	t.Helper()
	return setupOn(t, redistest.Start(t), now, quiet, opts...)
}

// setupOn is setupQuiet on a given Redis.
func setupOn(t testing.TB, rdb redis.UniversalClient, now func() time.Time, quiet string, opts ...func(*bundle, *campaign.Config)) *bundle {
	t.Helper()
	ctx := context.Background()
	b := &bundle{ctx: ctx, rdb: rdb, now: now}
	b.appID = fmt.Sprintf("wxcamp%010d", appSeq.Add(1))
	fake.AddAccount(wechattest.Account{AppID: b.appID, Secret: "sec", Token: "tok"})
	var err error
	if b.profiles, err = profile.NewStore(ctx, b.rdb, shanghai); err != nil {
		t.Fatal(err)
	}
	client, err := wechat.New(wechat.Config{AccountID: "default", AppID: b.appID, AppSecret: "sec"}, b.rdb, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	if b.queue, err = queue.New(b.rdb, queue.Options{Name: "default", VisibilityTimeout: 2 * time.Second, Now: now,
		PollInterval: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 50 * time.Millisecond }}); err != nil {
		t.Fatal(err)
	}
	b.items = memItems{
		"it1": {ID: "it1", Title: "荔枝花期管理", Summary: "花期要注意控梢保花。", URL: "https://kepu.example.org/a/1", Status: content.StatusPublished,
			Audience: content.Audience{Topics: []string{"litchi"}}},
		"it2": {ID: "it2", Title: "台风来了怎么办", Summary: "加固门窗，备好应急物品。", URL: "https://kepu.example.org/a/2", Status: content.StatusPublished,
			Audience: content.Audience{Topics: []string{"disaster"}}},
	}
	b.store = campaign.NewStore(b.rdb)
	cfg := campaign.Config{
		Store: b.store, Profiles: b.profiles, Items: b.items, Queue: func(string) *queue.Queue { return b.queue }, Limiter: queue.NewLimiter(b.rdb),
		Sender: func(string) (campaign.Sender, error) { return client, nil },
		Compile: func(expr string, at time.Time) (profile.Program, error) {
			e, err := segment.Parse(expr, tax)
			if err != nil {
				return nil, err
			}
			return e.Compile(at, shanghai), nil
		},
		Rules: func(string) plan.Rules { return plan.Rules{AccountType: plan.ServiceAccount, Loc: shanghai} },
		Quiet: mustQuiet(quiet),
		Caps:  plan.Caps{PerDay: 1, PerWeek: 3},
		Loc:   shanghai,
		Now:   now,
	}
	for _, o := range opts {
		o(b, &cfg)
	}
	b.engine = campaign.New(cfg)
	return b
}

func mustQuiet(s string) plan.QuietHours {
	q, err := plan.ParseQuietHours(s)
	if err != nil {
		panic(err)
	}
	return q
}

// population imports n subscribers: a third farmers in 派潭, some opted
// out or unsubscribed; it follows each one in the fake and returns them.
func (b *bundle) population(t testing.TB, n int) map[string]*profile.Profile {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 9))
	groups := []string{"farmer", "worker", "resident"}
	towns := []string{"paitan", "xintang", "licheng"}
	out := map[string]*profile.Profile{}
	var batch []*profile.Profile
	for i := range n {
		p := &profile.Profile{OpenID: fmt.Sprintf("oC%s%07d", b.appID[6:], i), Group: groups[rng.IntN(3)], Town: towns[rng.IntN(3)],
			Subscribed: rng.IntN(20) > 0, OptedOut: rng.IntN(20) == 0, CreatedAt: b.now()}
		p.SetInterest("litchi", 200)
		out[p.OpenID] = p
		batch = append(batch, p)
		if p.Subscribed {
			fake.Follow(b.appID, p.OpenID)
		}
		if len(batch) == 2000 || i == n-1 {
			if _, err := b.profiles.Import(b.ctx, "default", batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return out
}

// run starts workers until the test ends or stop is called.
func (b *bundle) run(t testing.TB, name string, n int) (stop func()) {
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.queue.Run(ctx, name, n, b.engine)
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func (b *bundle) create(t testing.TB, c *campaign.Campaign) *campaign.Campaign {
	t.Helper()
	c.Account, c.CreatedAt, c.Status = "default", b.now(), campaign.StatusDraft
	if err := b.store.Create(b.ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := b.engine.Enqueue(b.ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (b *bundle) waitDone(t testing.TB, id string, within time.Duration) *campaign.Campaign {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := b.store.Get(b.ctx, "default", id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == campaign.StatusDone {
			return c
		}
		if time.Now().After(deadline) {
			st, _ := b.engine.Stats(b.ctx, c, nil, nil)
			t.Fatalf("campaign %s still %s after %v: %+v", id, c.Status, within, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// delivered counts, per openid, the messages the fake WeChat delivered.
func (b *bundle) delivered(ps map[string]*profile.Profile) map[string]int {
	out := map[string]int{}
	for o := range ps {
		if n := len(fake.Delivered(b.appID, o)); n > 0 {
			out[o] = n
		}
	}
	return out
}

// openWindows has up to n reachable farmers in 派潭 message the bot now,
// which opens their customer-service window; it returns how many did.
func (b *bundle) openWindows(ps map[string]*profile.Profile, n int) int {
	open := 0
	for o, p := range ps {
		if p.Group == "farmer" && p.Town == "paitan" && p.Subscribed && !p.OptedOut && open < n {
			fake.UserMessage(b.appID, o)
			b.profiles.Update(b.ctx, "default", o, func(p *profile.Profile) (*profile.Profile, error) {
				p.TouchMessage(clock.Now())
				return p, nil
			})
			open++
		}
	}
	return open
}

func TestCampaignReachesExactlyItsAudienceOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, clock.Now)
	ps := b.population(t, 3000)
	// Some farmers in 派潭 talked to the bot: their window is open.
	open := b.openWindows(ps, 40)
	b.run(t, "w1", 4)
	b.run(t, "w2", 4)
	c := b.create(t, &campaign.Campaign{Name: "荔枝花期", Audience: "group:farmer & town:paitan", Mode: campaign.ModeItem, ItemID: "it1"})
	b.waitDone(t, c.ID, 30*time.Second)

	want := map[string]bool{}
	for o, p := range ps {
		if p.Group == "farmer" && p.Town == "paitan" && p.Subscribed && !p.OptedOut {
			want[o] = true
		}
	}
	got := b.delivered(ps)
	for o, n := range got {
		if !want[o] {
			t.Errorf("%s (%+v) received %d messages, is not in the audience", o, ps[o], n)
		} else if n != 1 {
			t.Errorf("%s received %d messages, want 1", o, n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("delivered to %d subscribers, audience is %d", len(got), len(want))
	}
	c, _ = b.store.Get(b.ctx, "default", c.ID)
	st, err := b.engine.Stats(b.ctx, c, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queued != int64(len(want)) || st.Sent != int64(len(want)) || st.ByChannel["custom"] != int64(open) ||
		st.ByChannel["mass"] != int64(len(want)-open) || st.Pending != 0 {
		t.Errorf("stats = %+v; want %d queued and sent, %d by custom", st, len(want), open)
	}
}

func TestCampaignSurvivesWorkerCrashAndFaults(t *testing.T) {
	t.Parallel()
	b := setup(t, clock.Now)
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	ps := b.population(t, n)
	// WeChat answers -1 or 45009 on 10% of this account's calls.
	fake.InjectFault(wechattest.Fault{AppID: b.appID, Rate: 0.05, ErrCode: -1})
	fake.InjectFault(wechattest.Fault{AppID: b.appID, Rate: 0.05, ErrCode: 45009})
	stop := b.run(t, "doomed", 2)
	c := b.create(t, &campaign.Campaign{Name: "台风", Audience: "", Mode: campaign.ModeItem, ItemID: "it2"})
	// Let the first worker get going, then kill it mid-campaign.
	deadline := time.Now().Add(20 * time.Second)
	for {
		cur, _ := b.store.Get(b.ctx, "default", c.ID)
		st, _ := b.engine.Stats(b.ctx, cur, nil, nil)
		if st.Skipped+st.Sent > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	b.run(t, "survivor", 4)
	b.waitDone(t, c.ID, 4*time.Minute)

	got := b.delivered(ps)
	reachable := 0
	for o, p := range ps {
		if p.Subscribed && !p.OptedOut {
			reachable++
			if got[o] != 1 {
				t.Errorf("%s received %d messages, want exactly 1", o, got[o])
			}
		} else if got[o] != 0 {
			t.Errorf("%s (unreachable) received %d", o, got[o])
		}
	}
	t.Logf("%d reachable of %d, all delivered once despite a worker killed mid-run and 10%% faults", reachable, n)
}

func TestQuietHoursHoldThenRelease(t *testing.T) {
	t.Parallel()
	clk := &testClock{t: time.Date(2027, 4, 6, 22, 0, 0, 0, shanghai)}
	b := setupQuiet(t, clk.Now, "21:30-07:30")
	ps := b.population(t, 300)
	b.run(t, "w", 4)
	c := b.create(t, &campaign.Campaign{Name: "夜里建的", Mode: campaign.ModeItem, ItemID: "it2"})
	// The start runs; every chunk is held.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := b.queue.Stats(b.ctx)
		cur, _ := b.store.Get(b.ctx, "default", c.ID)
		if cur.Chunks > 0 && st.Delayed[queue.LaneBulk] >= int64(cur.Chunks) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chunks not held: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := b.delivered(ps); len(got) != 0 {
		t.Fatalf("%d subscribers got a push during quiet hours", len(got))
	}
	// The campaign says why it waits, and until when.
	held, _ := b.store.Get(b.ctx, "default", c.ID)
	st, err := b.engine.Stats(b.ctx, held, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Waiting == nil || st.Waiting.Reason != campaign.WaitQuietHours || st.Waiting.Until == nil ||
		!st.Waiting.Until.Equal(time.Date(2027, 4, 7, 7, 30, 0, 0, shanghai)) {
		t.Errorf("stats.waiting = %+v, want quiet_hours until 07:30", st.Waiting)
	}
	// 07:30: released.
	clk.mu.Lock()
	clk.t = time.Date(2027, 4, 7, 7, 30, 0, 0, shanghai)
	clk.mu.Unlock()
	done := b.waitDone(t, c.ID, 30*time.Second)
	for o, n := range b.delivered(ps) {
		if n != 1 {
			t.Errorf("%s: %d deliveries, want 1", o, n)
		}
	}
	if done.Waiting != nil {
		t.Errorf("a finished campaign still waits: %+v", done.Waiting)
	}
	if len(b.delivered(ps)) == 0 {
		t.Error("nothing delivered after quiet hours")
	}
}

func TestCapsAcrossCampaignsAndCorrections(t *testing.T) {
	t.Parallel()
	b := setup(t, clock.Now)
	ps := b.population(t, 400)
	b.run(t, "w", 4)
	first := b.create(t, &campaign.Campaign{Name: "一", Audience: "group:farmer", Mode: campaign.ModeItem, ItemID: "it1"})
	b.waitDone(t, first.ID, 30*time.Second)
	second := b.create(t, &campaign.Campaign{Name: "二", Mode: campaign.ModeItem, ItemID: "it2"})
	second = b.waitDone(t, second.ID, 30*time.Second)
	st, _ := b.engine.Stats(b.ctx, second, nil, nil)
	farmers := 0
	for _, p := range ps {
		if p.Group == "farmer" && p.Subscribed && !p.OptedOut {
			farmers++
		}
	}
	if st.Reasons["skipped:frequency_cap"] != int64(farmers) {
		t.Errorf("second campaign the same day: %d capped, want the %d farmers who got the first (%+v)", st.Reasons["skipped:frequency_cap"], farmers, st)
	}
	// it1 is retired with a mistake: a correction reaches exactly its
	// recipients, caps or not.
	b.items["it1"].Status = content.StatusRetired
	corr := b.create(t, &campaign.Campaign{Name: "更正", Mode: campaign.ModeItem, ItemID: "it2", CorrectionOf: "it1"})
	corr = b.waitDone(t, corr.ID, 30*time.Second)
	cs, _ := b.engine.Stats(b.ctx, corr, nil, nil)
	if cs.Queued != int64(farmers) || cs.Sent+cs.Skipped != int64(farmers) || cs.Reasons["skipped:frequency_cap"] != 0 {
		t.Errorf("correction stats = %+v, want %d recipients, none capped", cs, farmers)
	}
	// WeChat's MASSSENDJOBFINISH reports fold into the first campaign once.
	keys, _ := b.rdb.Keys(b.ctx, "kb:{default:camp}:msg:*").Result()
	for _, k := range keys {
		var id int64
		if _, err := fmt.Sscanf(k, "kb:{default:camp}:msg:%d", &id); err != nil {
			continue
		}
		job, ok := fake.MassJob(b.appID, id)
		if !ok {
			t.Fatalf("fake has no mass job %d", id)
		}
		r := campaign.MassReport{MsgID: id, TotalCount: int64(job.TotalCount), FilterCount: int64(job.FilterCount), SentCount: int64(job.SentCount)}
		b.store.FoldReport(b.ctx, "default", r)
		b.store.FoldReport(b.ctx, "default", r) // WeChat retries events
	}
	total := int64(0)
	for _, id := range []string{first.ID, second.ID, corr.ID} {
		c, _ := b.store.Get(b.ctx, "default", id)
		st, _ := b.engine.Stats(b.ctx, c, nil, nil)
		total += st.WeChat["total"]
		if st.WeChat["reports"] > 0 && st.WeChat["total"] != st.ByChannel["mass"] {
			t.Errorf("campaign %s: WeChat reports %d targeted, we sent %d by mass", id, st.WeChat["total"], st.ByChannel["mass"])
		}
	}
	if total == 0 {
		t.Error("no mass report folded")
	}
}

// The plan's preview of a subscriber's message (Render) is what the send
// then delivers to that subscriber, channel by channel.
func TestPlanPreviewIsWhatIsSent(t *testing.T) {
	t.Parallel()
	b := setup(t, clock.Now)
	ps := b.population(t, 600)
	b.openWindows(ps, 10)
	c := b.create(t, &campaign.Campaign{Name: "预览", Audience: "group:farmer & town:paitan", Mode: campaign.ModeItem, ItemID: "it1"})
	rep, err := b.engine.Plan(b.ctx, c, 200)
	if err != nil {
		t.Fatal(err)
	}
	b.run(t, "w1", 2)
	b.waitDone(t, c.ID, 30*time.Second)
	seen := map[string]int{}
	for _, line := range rep.Sample {
		m := line.Message
		if line.Channel == "" {
			if m != nil {
				t.Errorf("%s is not reached but has a preview %+v", line.OpenID, m)
			}
			continue
		}
		got := fake.Delivered(b.appID, line.OpenID)
		if m == nil || len(got) != 1 {
			t.Fatalf("%s: preview %+v, delivered %+v", line.OpenID, m, got)
		}
		seen[m.Channel]++
		switch m.Channel {
		case "custom":
			if got[0].Channel != "custom" || got[0].Kind != "news" || got[0].Content != m.Title || m.Description != "花期要注意控梢保花。" {
				t.Errorf("%s: preview %+v, delivered %+v", line.OpenID, m, got[0])
			}
		case "mass":
			if got[0].Channel != "mass" || got[0].Content != m.Text || !strings.Contains(m.Text, "荔枝花期管理") {
				t.Errorf("%s: preview %q, delivered %+v", line.OpenID, m.Text, got[0])
			}
		default:
			t.Errorf("%s: unexpected channel %s", line.OpenID, m.Channel)
		}
	}
	if seen["custom"] == 0 || seen["mass"] == 0 {
		t.Errorf("the sample covers %v; want both custom and mass", seen)
	}
}

func TestUrgentSendsThroughQuietHoursAndFollowUpReachesTheSamePeople(t *testing.T) {
	t.Parallel()
	clk := &testClock{t: time.Date(2027, 4, 6, 23, 0, 0, 0, shanghai)}
	b := setupQuiet(t, clk.Now, "21:30-07:30")
	ps := b.population(t, 300)
	b.openWindows(ps, 5)
	b.run(t, "w", 4)
	first := b.create(t, &campaign.Campaign{Name: "暴雨红色预警", Mode: campaign.ModeItem, ItemID: "it2", Audience: "town:paitan", Urgent: true})
	b.waitDone(t, first.ID, 30*time.Second)
	got := b.delivered(ps)
	if len(got) == 0 {
		t.Fatal("an urgent campaign sent nothing during quiet hours")
	}
	for o := range got {
		if ps[o].Town != "paitan" {
			t.Errorf("%s in %s got the 派潭 warning", o, ps[o].Town)
		}
	}
	// The follow-up (a different item, over the daily cap of 1) reaches
	// exactly the same people, once more each.
	follow := b.create(t, &campaign.Campaign{Name: "暴雨预警解除", Mode: campaign.ModeItem, ItemID: "it1", FollowUpOf: first.ID, Urgent: true})
	b.waitDone(t, follow.ID, 30*time.Second)
	again := b.delivered(ps)
	if len(again) != len(got) {
		t.Errorf("follow-up reached %d subscribers, want the first's %d", len(again), len(got))
	}
	for o, n := range again {
		if got[o] != 1 || n != 2 {
			t.Errorf("%s: %d then %d deliveries, want 1 then 2", o, got[o], n)
		}
	}
}
