package alerts_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
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

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/feed"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/alerts"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

var (
	fake        *wechattest.Server
	appSeq      atomic.Int64
	subSeq      atomic.Int64
	shanghai, _ = time.LoadLocation("Asia/Shanghai")
)

func TestMain(m *testing.M) {
	fake = wechattest.New(wechattest.Options{Seed: 17})
	if err := wechat.SetAPIBase(fake.URL()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	fake.Close()
	os.Exit(code)
}

// capFeed serves an Atom index of the CAP samples published so far, each
// linked, with ETags so the poller's GETs are conditional.
type capFeed struct {
	*httptest.Server
	mu        sync.Mutex
	files     []string
	notMod    atomic.Int64
	fullPulls atomic.Int64
}

func newCAPFeed(t *testing.T) *capFeed {
	f := &capFeed{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *capFeed) publish(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files = append(f.files, name)
}

func (f *capFeed) serve(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.URL.Path == "/warnings.atom" {
		f.mu.Lock()
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><id>urn:test:zengcheng</id><title>增城预警</title>`)
		for _, name := range f.files {
			fmt.Fprintf(&b, `<entry><id>urn:test:%s</id><title>%s</title><link rel="alternate" type="application/cap+xml" href="cap/%s"/></entry>`, name, name, name)
		}
		b.WriteString(`</feed>`)
		f.mu.Unlock()
		body = []byte(b.String())
	} else if name, ok := strings.CutPrefix(r.URL.Path, "/cap/"); ok {
		var err error
		if body, err = os.ReadFile("../../content/alert/testdata/" + name); err != nil {
			http.NotFound(w, r)
			return
		}
	} else {
		http.NotFound(w, r)
		return
	}
	h := sha1.Sum(body)
	etag := `"` + hex.EncodeToString(h[:8]) + `"`
	if r.Header.Get("If-None-Match") == etag {
		f.notMod.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	f.fullPulls.Add(1)
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/xml")
	w.Write(body)
}

type bundle struct {
	ctx      context.Context
	rdb      redis.UniversalClient
	appID    string
	profiles *profile.Store
	content  *content.Store
	camps    *campaign.Store
	engine   *campaign.Engine
	svc      *alerts.Service
	fetcher  *feed.Fetcher
	now      func() time.Time
}

// setup wires the real pieces on a private Redis: profiles, the content
// library, the campaign engine (quiet hours 21:30–07:30, caps 1 a day),
// queue workers, and the alert service; the clock reads 23:00.
func setup(t *testing.T) *bundle {
	t.Helper()
	rdb := redistest.Start(t)
	ctx := context.Background()
	start, real := time.Date(2027, 3, 15, 23, 0, 0, 0, shanghai), time.Now()
	now := func() time.Time { return start.Add(time.Since(real)) }
	b := &bundle{ctx: ctx, rdb: rdb, now: now, appID: fmt.Sprintf("wxalert%010d", appSeq.Add(1))}
	fake.AddAccount(wechattest.Account{AppID: b.appID, Secret: "sec", Token: "tok"})
	var err error
	if b.profiles, err = profile.NewStore(ctx, rdb, shanghai); err != nil {
		t.Fatal(err)
	}
	client, err := wechat.New(wechat.Config{AccountID: "default", AppID: b.appID, AppSecret: "sec"}, rdb, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(rdb, queue.Options{Name: "default", VisibilityTimeout: 2 * time.Second, Now: now,
		PollInterval: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 50 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	quiet, _ := plan.ParseQuietHours("21:30-07:30")
	b.content = content.NewStore(rdb, now)
	b.camps = campaign.NewStore(rdb)
	b.engine = campaign.New(campaign.Config{
		Store: b.camps, Profiles: b.profiles, Items: campaign.StoreItems{Store: b.content}, Queue: func(string) *queue.Queue { return q },
		Limiter: queue.NewLimiter(rdb), Sender: func(string) (campaign.Sender, error) { return client, nil },
		Compile: func(expr string, at time.Time) (profile.Program, error) {
			e, err := segment.Parse(expr, tax)
			if err != nil {
				return nil, err
			}
			return e.Compile(at, shanghai), nil
		},
		Rules: func(string) plan.Rules { return plan.Rules{AccountType: plan.ServiceAccount, Loc: shanghai} },
		Quiet: quiet, Caps: plan.Caps{PerDay: 1, PerWeek: 3}, Loc: shanghai, Now: now,
	})
	if b.svc, err = alerts.New(alerts.Config{Redis: rdb, Campaigns: b.engine, Content: b.content, Taxonomy: tax, Loc: shanghai, Now: now}); err != nil {
		t.Fatal(err)
	}
	if b.fetcher, err = feed.NewFetcher(feed.NewRedisValidators(rdb), feed.Options{Retries: -1}); err != nil {
		t.Fatal(err)
	}
	// Advice on the topic, published by the editors.
	if _, _, err := b.content.UpsertItem(ctx, "default", content.Item{ExternalID: "advice-rain", Title: "暴雨来了怎么办",
		Summary: "远离河道，不要涉水。", URL: "https://kepu.example.org/a/rain", Audience: content.Audience{Topics: []string{"disaster"}},
		Source: "增城区科协"}, "editor", true); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); q.Run(wctx, "w", 4, b.engine) }()
	t.Cleanup(func() { cancel(); <-done })
	return b
}

// subscribe follows n subscribers in town; every other one wrote to the
// bot just now (their customer-service window is open), the rest can only
// be reached by a mass send.
func (b *bundle) subscribe(t *testing.T, town string, n int) []string {
	t.Helper()
	var ps []*profile.Profile
	var ids []string
	for i := range n {
		p := &profile.Profile{OpenID: fmt.Sprintf("oA%s%s%03d", b.appID[7:], town, subSeq.Add(1)), Group: "farmer", Town: town, Subscribed: true, CreatedAt: b.now()}
		if i%2 == 0 {
			p.TouchMessage(b.now())
			fake.UserMessage(b.appID, p.OpenID)
		}
		fake.Follow(b.appID, p.OpenID)
		ps = append(ps, p)
		ids = append(ids, p.OpenID)
	}
	if _, err := b.profiles.Import(b.ctx, "default", ps); err != nil {
		t.Fatal(err)
	}
	return ids
}

// waitSent waits until every alert's campaign is done.
func (b *bundle) waitSent(t *testing.T) []*alerts.Record {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := b.svc.List(b.ctx, "default", 100)
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for _, r := range list {
			if r.CampaignID == "" {
				continue
			}
			c, err := b.camps.Get(b.ctx, "default", r.CampaignID)
			if err != nil {
				t.Fatal(err)
			}
			done = done && c.Status == campaign.StatusDone
		}
		if done {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert campaigns not done: %+v", list)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *bundle) delivered(ids []string) map[string]int {
	out := map[string]int{}
	for _, o := range ids {
		out[o] = len(fake.Delivered(b.appID, o))
	}
	return out
}

func TestRedRainstormReachesExactlyItsTownsThenUpdateAndCancelFollow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := append(b.subscribe(t, "licheng", 6), b.subscribe(t, "xintang", 6)...)
	out := append(b.subscribe(t, "paitan", 4), b.subscribe(t, "ningxi", 4)...)
	f := newCAPFeed(t)
	feedCfg := alerts.Feed{URL: f.URL + "/warnings.atom", AutoSend: true, Account: "default"}
	p := alerts.NewPoller(b.svc, b.fetcher, []alerts.Feed{feedCfg}, nil)

	step := func(file string, want int) {
		t.Helper()
		f.publish(file)
		if err := p.Poll(b.ctx, feedCfg); err != nil {
			t.Fatalf("Poll after %s: %v", file, err)
		}
		b.waitSent(t)
		for o, n := range b.delivered(in) {
			if n != want {
				t.Errorf("after %s: %s got %d messages, want %d", file, o, n, want)
			}
		}
		for o, n := range b.delivered(out) {
			if n != 0 {
				t.Errorf("after %s: %s outside the warned towns got %d messages", file, o, n)
			}
		}
	}
	// 23:00, quiet hours: the red warning goes at once.
	step("rainstorm_red.xml", 1)
	// Someone in 荔城 follows after the warning: updates follow the
	// original's recipients, not the towns.
	late := b.subscribe(t, "licheng", 2)
	out = append(out, late...)
	step("rainstorm_red_update.xml", 2)
	step("rainstorm_red_cancel.xml", 3)

	list := b.waitSent(t)
	if len(list) != 3 {
		t.Fatalf("%d alerts recorded, want 3", len(list))
	}
	for _, r := range list {
		if r.Status != alerts.StatusSent || !r.Urgent || r.Reach != int64(len(in)) {
			t.Errorf("alert %s (%s) = status %s urgent %v reach %d, want sent, urgent, reach %d", r.ID, r.MsgType, r.Status, r.Urgent, r.Reach, len(in))
		}
	}
	first := list[2]
	if first.MsgType != "Alert" || strings.Join(first.Towns, ",") != "licheng,xintang" {
		t.Errorf("first alert = %s towns %v", first.MsgType, first.Towns)
	}
	if list[1].Original != first.ID || list[0].Original == "" {
		t.Errorf("update's original = %q, cancel's = %q, want %q and an original", list[1].Original, list[0].Original, first.ID)
	}
	it, err := b.content.Item(b.ctx, "default", first.ItemID)
	if err != nil || !strings.Contains(it.Title, "暴雨红色预警") || !strings.Contains(it.Body, "暴雨来了怎么办") || it.Short == "" {
		t.Errorf("notice item = %+v, %v; want the red rainstorm notice linking the advice", it, err)
	}

	// Replays: the unchanged feed (conditional GETs answer 304), then the
	// same documents pulled in full by a fetcher that forgot its ETags
	// (another replica, a restart): nothing more is sent.
	pulls := f.fullPulls.Load()
	if err := p.Poll(b.ctx, feedCfg); err != nil {
		t.Fatal(err)
	}
	if f.fullPulls.Load() != pulls || f.notMod.Load() == 0 {
		t.Errorf("replay pulled %d documents in full (304s: %d), want only 304s", f.fullPulls.Load()-pulls, f.notMod.Load())
	}
	cold, _ := feed.NewFetcher(nil, feed.Options{Retries: -1})
	if err := alerts.NewPoller(b.svc, cold, nil, nil).Poll(b.ctx, feedCfg); err != nil {
		t.Fatal(err)
	}
	camps, _ := b.camps.List(b.ctx, "default", 100)
	if len(camps) != 3 {
		t.Errorf("%d campaigns after the replays, want 3", len(camps))
	}
	for o, n := range b.delivered(in) {
		if n != 3 {
			t.Errorf("after the replays %s has %d messages, want 3", o, n)
		}
	}
}

func TestHeldAlertWaitsForApproval(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := b.subscribe(t, "licheng", 4)
	if err := b.svc.SetHold(b.ctx, "default", true); err != nil {
		t.Fatal(err)
	}
	f := newCAPFeed(t)
	f.publish("rainstorm_red.xml")
	fc := alerts.Feed{URL: f.URL + "/warnings.atom", AutoSend: true, Account: "default"}
	if err := alerts.NewPoller(b.svc, b.fetcher, nil, nil).Poll(b.ctx, fc); err != nil {
		t.Fatal(err)
	}
	list, _ := b.svc.List(b.ctx, "default", 10)
	if len(list) != 1 || list[0].Status != alerts.StatusHeld || list[0].CampaignID != "" {
		t.Fatalf("held account's alert = %+v, want held without a campaign", list)
	}
	if _, err := b.svc.Approve(b.ctx, "default", "nope", "organizer"); err != alerts.ErrNotFound {
		t.Errorf("Approve(unknown) = %v, want ErrNotFound", err)
	}
	r, err := b.svc.Approve(b.ctx, "default", list[0].ID, "organizer")
	if err != nil || r.Status != alerts.StatusSent || r.ApprovedBy != "organizer" {
		t.Fatalf("Approve = %+v, %v", r, err)
	}
	if _, err := b.svc.Approve(b.ctx, "default", list[0].ID, "organizer"); err != alerts.ErrNotHeld {
		t.Errorf("second Approve = %v, want ErrNotHeld", err)
	}
	b.waitSent(t)
	for o, n := range b.delivered(in) {
		if n != 1 {
			t.Errorf("%s got %d messages, want 1", o, n)
		}
	}
}

// TestAlertResumedAfterCrashSendsOnce: a replica died after the alert's
// campaign started but before the alert's record said so (the record
// still reads "approved", without a campaign). Resume finds the campaign
// started for the alert and records it: no second campaign, nobody gets
// the warning twice.
func TestAlertResumedAfterCrashSendsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := b.subscribe(t, "licheng", 4)
	f := newCAPFeed(t)
	f.publish("rainstorm_red.xml")
	fc := alerts.Feed{URL: f.URL + "/warnings.atom", AutoSend: true, Account: "default"}
	if err := alerts.NewPoller(b.svc, b.fetcher, nil, nil).Poll(b.ctx, fc); err != nil {
		t.Fatal(err)
	}
	sent := b.waitSent(t)
	if len(sent) != 1 || sent[0].CampaignID == "" {
		t.Fatalf("alerts = %+v, want one sent", sent)
	}
	first := sent[0]

	// The record as the dead replica left it.
	key := "kb:{default:alerts}:a:" + first.ID
	raw, err := b.rdb.Get(b.ctx, key).Bytes()
	if err != nil {
		t.Fatalf("the record is not at %s: %v", key, err)
	}
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	rec["status"] = string(alerts.StatusApproved)
	delete(rec, "campaign_id")
	delete(rec, "sent_at")
	raw, _ = json.Marshal(rec)
	if err := b.rdb.Set(b.ctx, key, raw, 0).Err(); err != nil {
		t.Fatal(err)
	}

	if err := b.svc.Resume(b.ctx, "default"); err != nil {
		t.Fatal(err)
	}
	got, err := b.svc.Get(b.ctx, "default", first.ID)
	if err != nil || got.Status != alerts.StatusSent || got.CampaignID != first.CampaignID {
		t.Fatalf("after Resume the alert = %+v, %v; want sent by campaign %s", got, err, first.CampaignID)
	}
	b.waitSent(t)
	if camps, _ := b.camps.List(b.ctx, "default", 100); len(camps) != 1 {
		t.Errorf("%d campaigns after Resume, want 1", len(camps))
	}
	for o, n := range b.delivered(in) {
		if n != 1 {
			t.Errorf("%s got the warning %d times, want once", o, n)
		}
	}
}
