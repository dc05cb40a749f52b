package campaign_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redisconn"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// The fault tests run a campaign while real processes die: the worker (a
// child process running this test binary, SIGKILLed at a random moment and
// started again) or the redis-server itself (SIGKILLed and restarted on its
// append-only file). The fake WeChat, in this process, counts what each
// subscriber's phone received. Sizes and run counts come from the
// environment, so CI runs a few and the acceptance runs all:
//
//	KEPUBOT_FAULT_RUNS=20 KEPUBOT_FAULT_AUDIENCE=10000 go test -run 'TestDeliveryUnder' -v ./scheduler/campaign/

// Environment of a fault worker child.
const (
	envWorker  = "KEPUBOT_FAULT_WORKER" // "1": this process is a worker
	envRedis   = "KEPUBOT_FAULT_REDIS"  // host:port, or a Cluster's nodes (comma-separated)
	envWeChat  = "KEPUBOT_FAULT_WECHAT" // the fake's URL
	envAppID   = "KEPUBOT_FAULT_APPID"
	faultTmpl  = "TM-event-notice"
	faultSends = 8 // notify.Config.Senders in the fault tests
	faultConc  = 4 // queue workers per process
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// faultItems is the library the parent and the workers share.
var faultItems = memItems{
	"it1": {ID: "it1", Title: "荔枝花期管理", Summary: "花期要注意控梢保花。", URL: "https://kepu.example.org/a/1", Status: content.StatusPublished,
		Audience: content.Audience{Topics: []string{"litchi"}}},
}

// faultEngine builds the engine both sides use: the parent to create and
// count, the workers to send.
func faultEngine(rdb redis.UniversalClient, appID string) (*campaign.Engine, *campaign.Store, *queue.Queue, error) {
	ctx := context.Background()
	profiles, err := profile.NewStore(ctx, rdb, shanghai)
	if err != nil {
		return nil, nil, nil, err
	}
	client, err := wechat.New(wechat.Config{AccountID: "default", AppID: appID, AppSecret: "sec"}, rdb, nil, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	tax, err := taxonomy.Default()
	if err != nil {
		return nil, nil, nil, err
	}
	// Leases and the queue's visibility timeout are 1 s, so a test sees
	// many take-overs; KEPUBOT_FAULT_LEASE (e.g. 30s, production's
	// default) measures recovery as deployed.
	lease := time.Second
	if d, err := time.ParseDuration(os.Getenv("KEPUBOT_FAULT_LEASE")); err == nil && d > 0 {
		lease = d
	}
	q, err := queue.New(rdb, queue.Options{Name: "default", VisibilityTimeout: lease, PollInterval: 20 * time.Millisecond,
		Backoff: func(int) time.Duration { return 100 * time.Millisecond }, DrainTimeout: 100 * time.Millisecond})
	if err != nil {
		return nil, nil, nil, err
	}
	limiter := queue.NewLimiter(rdb)
	fast := queue.Limit{Rate: 100000, Per: time.Second, Burst: 1000}
	n, err := notify.New(notify.Config{Redis: rdb, Profiles: profiles, Limiter: limiter, Loc: shanghai,
		Sender:  func(string) (notify.Sender, error) { return client, nil },
		Limits:  notify.Limits{Custom: fast, Template: fast, MassPerMinute: fast, MassPerDay: fast},
		Senders: faultSends, Lease: lease, Backoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		Slowdown: 100 * time.Millisecond})
	if err != nil {
		return nil, nil, nil, err
	}
	store := campaign.NewStore(rdb)
	e := campaign.New(campaign.Config{
		Store: store, Profiles: profiles, Items: faultItems, Queue: func(string) *queue.Queue { return q }, Notifier: n,
		Compile: func(expr string, at time.Time) (profile.Program, error) {
			e, err := segment.Parse(expr, tax)
			if err != nil {
				return nil, err
			}
			return e.Compile(at, shanghai), nil
		},
		Rules: func(string) plan.Rules {
			return plan.Rules{AccountType: plan.ServiceAccount, TemplateConfigured: true, Loc: shanghai}
		},
		Quiet:    mustQuiet("off"),
		Caps:     plan.Caps{PerDay: 5, PerWeek: 20},
		Template: faultTmpl,
		Loc:      shanghai,
	})
	return e, store, q, nil
}

// faultWorker is the child's main: it runs queue workers until killed.
func faultWorker() int {
	if err := wechat.SetAPIBase(os.Getenv(envWeChat)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rdb, err := redisconn.Open(os.Getenv(envRedis))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	e, _, q, err := faultEngine(rdb, os.Getenv(envAppID))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	q.Run(context.Background(), "w"+strconv.Itoa(os.Getpid()), faultConc, e)
	return 0
}

// faultRun is one campaign of one fault run.
type faultRun struct {
	t      *testing.T
	ctx    context.Context
	srv    *redistest.Server // the single Redis (nil on a Cluster)
	url    string            // what the workers connect to (KEPUBOT_REDIS_URL form)
	rdb    redis.UniversalClient
	appID  string
	engine *campaign.Engine
	store  *campaign.Store
	people []string
}

// newFaultRun starts a persistent redis-server (AOF everysec) — under
// KEPUBOT_TEST_REDIS=cluster a pooled Cluster instead, srv nil — and seeds
// n followers: half talked to the bot (their customer-service window is
// open), half did not (mass send, or template for a notice).
func newFaultRun(t *testing.T, n int) *faultRun {
	r := &faultRun{t: t, ctx: context.Background()}
	if redistest.OnCluster() {
		r.url, r.rdb = redistest.StartURL(t, redistest.Options{})
	} else {
		r.srv = redistest.StartServer(t, redistest.Options{TCP: true, Args: []string{"--appendonly", "yes", "--appendfsync", "everysec"}})
		r.url, r.rdb = r.srv.Addr, r.srv.Client(t)
	}
	r.seed(n)
	return r
}

// seed makes the run's account and its n followers on r.rdb.
func (r *faultRun) seed(n int) {
	t := r.t
	r.appID = fmt.Sprintf("wxfault%09d", appSeq.Add(1))
	fake.AddAccount(wechattest.Account{AppID: r.appID, Secret: "sec", Token: "tok"})
	var err error
	if r.engine, r.store, _, err = faultEngine(r.rdb, r.appID); err != nil {
		t.Fatal(err)
	}
	profiles, err := profile.NewStore(r.ctx, r.rdb, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var batch []*profile.Profile
	for i := range n {
		p := &profile.Profile{OpenID: fmt.Sprintf("oF%s%06d", r.appID[7:], i), Group: "farmer", Town: "paitan", Subscribed: true, CreatedAt: now}
		p.SetInterest("litchi", 200)
		fake.Follow(r.appID, p.OpenID)
		if i%2 == 0 {
			fake.UserMessage(r.appID, p.OpenID)
			p.TouchMessage(now)
		}
		r.people = append(r.people, p.OpenID)
		batch = append(batch, p)
		if len(batch) == 2000 || i == n-1 {
			if _, err := profiles.Import(r.ctx, "default", batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

func (r *faultRun) create(c *campaign.Campaign) *campaign.Campaign {
	c.Account, c.CreatedAt, c.Status = "default", time.Now(), campaign.StatusDraft
	if err := r.store.Create(r.ctx, c); err != nil {
		r.t.Fatal(err)
	}
	if err := r.engine.Enqueue(r.ctx, c); err != nil {
		r.t.Fatal(err)
	}
	return c
}

// startWorker starts a worker process; kill SIGKILLs it.
func (r *faultRun) startWorker() (kill func()) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWorker+"=1", envRedis+"="+r.url, envWeChat+"="+fake.URL(), envAppID+"="+r.appID)
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	killed := false
	kill = func() {
		if !killed {
			killed = true
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		}
	}
	r.t.Cleanup(kill)
	return kill
}

// status reads the campaign and its stats (nil, zero while Redis is down).
func (r *faultRun) status(id string) (*campaign.Campaign, campaign.Stats) {
	c, err := r.store.Get(r.ctx, "default", id)
	if err != nil {
		return nil, campaign.Stats{}
	}
	st, _ := r.engine.Stats(r.ctx, c, nil, nil)
	return c, st
}

func (r *faultRun) waitDone(id string, within time.Duration) campaign.Stats {
	deadline := time.Now().Add(within)
	for {
		c, st := r.status(id)
		if c != nil && c.Status == campaign.StatusDone {
			return st
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("campaign %s not done after %v: %+v", id, within, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tally is what the phones received against what the stats say.
type tally struct {
	lost, dups, received int
}

// check counts lost and duplicated messages of a finished campaign and
// checks its stats add up and tell the truth.
func (r *faultRun) check(st campaign.Stats) tally {
	var tl tally
	for _, o := range r.people {
		ms := fake.Delivered(r.appID, o)
		if len(ms) > 1 && os.Getenv("KEPUBOT_FAULT_DEBUG") != "" {
			r.t.Logf("dup %s: %+v", o, ms)
		}
		switch n := len(ms); {
		case n == 0:
			tl.lost++
		default:
			tl.received++
			tl.dups += n - 1
		}
	}
	if st.Sent+st.Failed+st.Skipped != st.Queued || st.Queued != int64(len(r.people)) {
		r.t.Errorf("stats do not add up: sent %d + failed %d + unreachable %d != queued %d (audience %d); %+v",
			st.Sent, st.Failed, st.Skipped, st.Queued, len(r.people), st)
	}
	if st.Sent != int64(tl.received) {
		r.t.Errorf("stats say %d sent, %d phones received it (reasons %v)", st.Sent, tl.received, st.Reasons)
	}
	if tl.lost > 0 {
		r.t.Errorf("%d of %d never received it (stats %+v)", tl.lost, len(r.people), st)
	}
	return tl
}

// injectFaults makes WeChat answer -1 or 45009 on 10% of the account's
// send calls, and 40001 (token invalid) once; every other send answers
// after 10 ms, as a distant WeChat would.
func (r *faultRun) injectFaults() {
	fake.InjectFault(wechattest.Fault{AppID: r.appID, Path: "/cgi-bin/message/", Count: 1, ErrCode: 40001})
	fake.InjectFault(wechattest.Fault{AppID: r.appID, Path: "/cgi-bin/message/", Rate: 0.05, ErrCode: -1})
	fake.InjectFault(wechattest.Fault{AppID: r.appID, Path: "/cgi-bin/message/", Rate: 0.05, ErrCode: 45009})
	fake.InjectFault(wechattest.Fault{AppID: r.appID, Path: "/cgi-bin/message/", Latency: 10 * time.Millisecond})
}

// waitProgress waits until a share f of the campaign's audience has an
// outcome (or it is done, or within has passed).
func (r *faultRun) waitProgress(id string, f float64, within time.Duration) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c, st := r.status(id)
		if c != nil && (c.Status == campaign.StatusDone || (st.Queued > 0 && float64(st.Sent+st.Failed+st.Skipped) >= f*float64(st.Queued))) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDeliveryUnderWorkerSIGKILL: a campaign to n followers (customer-
// service messages and a mass send; for the notice, customer-service and
// template messages), its worker process SIGKILLed at random moments and
// started again, WeChat failing 10% of calls: nobody is left out, and the
// only duplicates are customer-service messages in flight at a kill, each
// counted in in_doubt_resent.
func TestDeliveryUnderWorkerSIGKILL(t *testing.T) {
	runs := envInt("KEPUBOT_FAULT_RUNS", 1)
	n := envInt("KEPUBOT_FAULT_AUDIENCE", 1000)
	if testing.Short() {
		runs, n = 1, 1000
	}
	kinds := []struct {
		name string
		c    campaign.Campaign
	}{
		{"content", campaign.Campaign{Name: "荔枝花期", Audience: "group:farmer", Mode: campaign.ModeItem, ItemID: "it1"}},
		{"notice", campaign.Campaign{Name: "活动通知", Audience: "group:farmer", Mode: campaign.ModeItem, ItemID: "it1", Notice: true}},
	}
	var total tally
	var resent, kills int64
	for run := range runs {
		for _, k := range kinds {
			t.Run(fmt.Sprintf("%s/%d", k.name, run), func(t *testing.T) {
				r := newFaultRun(t, n)
				r.injectFaults()
				rng := rand.New(rand.NewPCG(uint64(run), 7))
				cc := k.c
				c := r.create(&cc)
				// Kill the worker 3 times at random moments of the campaign
				// (after 5–90% of it), then let one finish.
				for range 3 {
					kill := r.startWorker()
					r.waitProgress(c.ID, 0.05+0.85*rng.Float64(), 30*time.Second)
					time.Sleep(time.Duration(rng.IntN(50)) * time.Millisecond)
					kill()
					kills++
				}
				r.startWorker()
				st := r.waitDone(c.ID, 3*time.Minute)
				tl := r.check(st)
				if int64(tl.dups) > st.InDoubtResent {
					t.Errorf("%d duplicates, but only %d counted in in_doubt_resent", tl.dups, st.InDoubtResent)
				}
				if bound := int64(3 * faultConc * faultSends); st.InDoubtResent > bound {
					t.Errorf("in_doubt_resent %d exceeds kills × workers × senders = %d", st.InDoubtResent, bound)
				}
				total.lost += tl.lost
				total.dups += tl.dups
				total.received += tl.received
				resent += st.InDoubtResent
				t.Logf("%d followers: lost %d, duplicates %d, in_doubt_resent %d, by channel %v, reasons %v",
					n, tl.lost, tl.dups, st.InDoubtResent, st.ByChannel, st.Reasons)
			})
		}
	}
	t.Logf("%d runs × %d campaigns × %d followers, %d worker kills: lost %d, duplicates %d, in_doubt_resent %d",
		runs, len(kinds), n, kills, total.lost, total.dups, resent)
}

// TestDeliveryUnderRedisSIGKILL: the same campaign while the redis-server
// (append-only file, fsync every second) is SIGKILLed twice and restarted:
// nobody is left out and the stats equal what the phones received.
func TestDeliveryUnderRedisSIGKILL(t *testing.T) {
	redistest.SkipOnCluster(t, "it SIGKILLs and restarts one redis-server; the Cluster's fault is TestDeliveryUnderClusterFailover")
	runs := envInt("KEPUBOT_FAULT_REDIS_RUNS", 2)
	n := envInt("KEPUBOT_FAULT_AUDIENCE", 1000)
	if testing.Short() {
		runs, n = 1, 1000
	}
	var total tally
	for run := range runs {
		t.Run(strconv.Itoa(run), func(t *testing.T) {
			r := newFaultRun(t, n)
			r.injectFaults()
			rng := rand.New(rand.NewPCG(uint64(run), 11))
			r.startWorker()
			c := r.create(&campaign.Campaign{Name: "台风", Audience: "group:farmer", Mode: campaign.ModeItem, ItemID: "it1"})
			for i := range 2 {
				r.waitProgress(c.ID, 0.1+0.4*float64(i)+0.3*rng.Float64(), 30*time.Second)
				r.srv.Kill()
				time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
				r.srv.Restart(t)
			}
			st := r.waitDone(c.ID, 3*time.Minute)
			tl := r.check(st)
			if int64(tl.dups) > st.InDoubtResent {
				t.Errorf("%d duplicates, but only %d counted in in_doubt_resent", tl.dups, st.InDoubtResent)
			}
			total.lost += tl.lost
			total.dups += tl.dups
			t.Logf("%d followers: lost %d, duplicates %d, in_doubt_resent %d, by channel %v, reasons %v",
				n, tl.lost, tl.dups, st.InDoubtResent, st.ByChannel, st.Reasons)
		})
	}
	t.Logf("%d runs × %d followers, 2 Redis kills each: lost %d, duplicates %d", runs, n, total.lost, total.dups)
}
