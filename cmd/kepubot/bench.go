package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content/search"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// `kepubot bench` runs the whole service — the same App as `serve` — on a
// Redis of its own (or --redis-url, a Cluster as a comma list) against the
// fake WeChat on loopback, with N synthetic subscribers, and times each
// step a district campaign takes, beside baselines run in the same process
// on the same Redis and fake WeChat.

// benchGroupShares is how the synthetic subscribers split over the plan's
// five key populations (an assumption: the plan names them, not their
// sizes; students and urban workers are the largest in a district like
// Zengcheng).
var benchGroupShares = []struct {
	id    string
	share float64
}{{"youth", 0.18}, {"farmer", 0.17}, {"worker", 0.35}, {"official", 0.03}, {"resident", 0.27}}

// benchOptions are the bench's flags.
type benchOptions struct {
	subscribers int
	perMessage  int
	webhook     int
	redisURL    string
	chart       string
	cpuProfile  string
	countsOnly  bool
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o benchOptions
	fs.IntVar(&o.subscribers, "subscribers", 1_500_000, "synthetic subscribers to generate")
	fs.IntVar(&o.perMessage, "per-message", 20_000, "recipients of the per-message (customer-service) run")
	fs.IntVar(&o.webhook, "webhook", 5_000, "text messages sent to the webhook")
	fs.StringVar(&o.redisURL, "redis-url", "", "Redis to use (host:port,host:port,... = Cluster); default: start a redis-server from PATH in a temp dir")
	fs.StringVar(&o.chart, "chart", "kepubot-bench.svg", "where to write the chart (SVG)")
	fs.BoolVar(&o.countsOnly, "counts-only", false, "stop after the import, audience counts and the district plan (no delivery, no webhook): for sizes past the district")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the delivery and webhook steps to this file")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return errUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "kepubot bench: unexpected %q\n", strings.Join(rest, " "))
		return errUsage
	}
	if o.subscribers < 100 || o.perMessage < 2 || o.webhook < 1 {
		fmt.Fprintln(stderr, "kepubot bench: --subscribers must be at least 100, --per-message at least 2, --webhook at least 1")
		return errUsage
	}
	o.perMessage = min(o.perMessage, o.subscribers/2)
	rep, err := runBench(ctx, o, stderr)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, rep.markdown())
	if o.chart != "" {
		if err := writeFile(o.chart, rep.svg()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nchart: %s\n", o.chart)
	}
	return nil
}

// bench is one run's service, fake WeChat and what it measured.
type bench struct {
	o       benchOptions
	app     *App
	wx      *wechattest.Server
	acct    wechattest.Account
	url     string // the Redis URL the app uses
	cluster []string
	openIDs []string
	rep     *benchReport
	prog    *progress
}

func runBench(ctx context.Context, o benchOptions, stderr io.Writer) (*benchReport, error) {
	b := &bench{o: o, rep: &benchReport{Subscribers: o.subscribers}, prog: &progress{w: stderr}}
	b.url = o.redisURL
	if b.url == "" {
		srv, err := redistest.Launch(redistest.Options{TCP: true})
		if err != nil {
			return nil, err
		}
		defer srv.Close()
		b.url = "redis://" + srv.Addr
		b.rep.Redis = "one redis-server"
	} else if strings.Contains(b.url, ",") {
		b.cluster = strings.Split(b.url, ",")
		b.rep.Redis = fmt.Sprintf("Redis Cluster (%d nodes given)", len(b.cluster))
	} else {
		b.rep.Redis = "one Redis (--redis-url)"
	}
	if o.redisURL != "" {
		if err := mustBeEmpty(ctx, b.url, b.cluster); err != nil {
			return nil, err
		}
	}
	b.wx = wechattest.New(wechattest.Options{Seed: 1})
	defer b.wx.Close()
	b.acct = wechattest.Account{AppID: "wxkepubotbench", Secret: randomHex(16), Token: "kepubotbench"}
	b.wx.AddAccount(b.acct)
	cfg, err := LoadConfig("", func(k string) string {
		switch k {
		case "KEPUBOT_HTTP_ADDR":
			return "127.0.0.1:0"
		case "KEPUBOT_WECHAT_APP_ID":
			return b.acct.AppID
		case "KEPUBOT_WECHAT_APP_SECRET":
			return b.acct.Secret
		case "KEPUBOT_WECHAT_TOKEN":
			return b.acct.Token
		case "KEPUBOT_WECHAT_API_BASE":
			return b.wx.URL()
		case "KEPUBOT_ADMIN_TOKEN":
			return randomHex(16)
		case "KEPUBOT_PUBLIC_URL":
			return "https://kepu.example.org"
		case "KEPUBOT_REDIS_URL":
			return b.url
		case "KEPUBOT_QUIET_HOURS":
			return "off" // the bench runs at any hour
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	// The bench sends three campaigns to the same people within minutes:
	// no frequency caps.
	cfg.Delivery.PerDay, cfg.Delivery.PerWeek = 0, 0
	// WeChat's call rates lifted in kepubot's limiter: the bench measures
	// kepubot, not the limiter (the fake still enforces WeChat's rules).
	fast := queue.Limit{Rate: 1_000_000, Per: time.Second, Burst: 100_000}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.app, err = NewApp(ctx, cfg, logger, AppOptions{Limits: notify.Limits{Custom: fast, Template: fast, MassPerMinute: fast, MassPerDay: fast}})
	if err != nil {
		return nil, err
	}
	defer b.app.Close()

	if err := b.app.importSamples(ctx); err != nil {
		return nil, err
	}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"import", b.importSubscribers},
		{"audience counts", b.audienceCounts},
		{"plan and queue", b.planAndQueue},
		{"bulk", b.bulk},
		{"per message", b.perMessageRun},
		{"webhook", b.webhookRun},
	}
	for _, s := range steps {
		if s.name == "bulk" && o.countsOnly {
			break
		}
		if s.name == "bulk" {
			if err := b.app.Start(ctx); err != nil {
				return nil, err
			}
			// A replica loads the search segmenter's dictionary once, at
			// start (~2 s of CPU): done before the clock starts, so the
			// bulk run measures delivery, not the warm-up beside it.
			if _, err := search.DefaultSegmenter(); err != nil {
				return nil, err
			}
			if o.cpuProfile != "" {
				f, err := os.Create(o.cpuProfile)
				if err != nil {
					return nil, err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return nil, err
				}
				defer pprof.StopCPUProfile()
			}
		}
		if err := s.run(ctx); err != nil {
			return nil, fmt.Errorf("bench %s: %w", s.name, err)
		}
		if s.name == "bulk" || s.name == "per message" {
			if err := b.quiesce(ctx); err != nil {
				return nil, err
			}
		}
	}
	return b.rep, nil
}

// quiesce waits (a minute at most) until the delivery queues hold no job
// ready or running, then collects the garbage the step left, so each step
// is timed on its own and not beside the last one's aftermath (after the
// district bulk send, a per-message run started at once read half its
// speed: 7-8 k msgs/s against 14 k 20 s later).
func (b *bench) quiesce(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		busy := int64(0)
		for _, q := range b.app.delivery.queues {
			st, err := q.Stats(ctx)
			if err != nil {
				return err
			}
			for _, n := range st.Ready {
				busy += n
			}
			for _, n := range st.Pending {
				busy += n
			}
		}
		if busy == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	runtime.GC()
	return nil
}

// importSubscribers generates and imports the synthetic subscribers: towns
// by the taxonomy's populations, groups by benchGroupShares, two interests
// from the group's suggested topics; every one follows the account.
func (b *bench) importSubscribers(ctx context.Context) error {
	tax := b.app.tax
	var townW, groupW []float64
	for _, t := range tax.Towns {
		townW = append(townW, float64(t.Population))
	}
	for _, g := range benchGroupShares {
		groupW = append(groupW, g.share)
	}
	rng := rand.New(rand.NewPCG(uint64(b.o.subscribers), 15))
	before, perMaster, err := usedMemory(ctx, b.app.rdb)
	if err != nil {
		return err
	}
	now := time.Now()
	start := time.Now()
	const batchSize = 10_000
	// Generation is sequential (one seed, the same subscribers every run);
	// writing is spread over importers, so Redis (or each master) is kept
	// busy while the next batch is made.
	const importers = 4
	batches := make(chan []*profile.Profile, importers)
	errc := make(chan error, importers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	imported := 0
	for range importers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				if _, err := b.app.profiles.Import(ctx, b.app.cfg.WeChat.ID, batch); err != nil {
					errc <- err
					for range batches { // drain, so the generator never blocks
					}
					return
				}
				mu.Lock()
				imported += len(batch)
				b.prog.show("import", imported, b.o.subscribers)
				mu.Unlock()
			}
		}()
	}
	b.openIDs = make([]string, 0, b.o.subscribers)
	batch := make([]*profile.Profile, 0, batchSize)
	for i := range b.o.subscribers {
		g := benchGroupShares[pick(rng, groupW)].id
		p := &profile.Profile{OpenID: fmt.Sprintf("oBench%09d", i), Group: g, Town: tax.Towns[pick(rng, townW)].ID,
			Subscribed: true, CreatedAt: now}
		if grp, ok := tax.Group(g); ok && len(grp.Topics) > 0 {
			p.SetInterest(grp.Topics[rng.IntN(len(grp.Topics))], 200)
			p.SetInterest(grp.Topics[rng.IntN(len(grp.Topics))], 100)
		}
		b.openIDs = append(b.openIDs, p.OpenID)
		if !b.o.countsOnly {
			b.wx.Follow(b.acct.AppID, p.OpenID)
		}
		batch = append(batch, p)
		if len(batch) == batchSize || i == b.o.subscribers-1 {
			batches <- batch
			batch = make([]*profile.Profile, 0, batchSize)
		}
	}
	close(batches)
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	took := time.Since(start)
	after, perMasterAfter, err := usedMemory(ctx, b.app.rdb)
	if err != nil {
		return err
	}
	b.rep.ImportTook = took
	b.rep.BytesPerSubscriber = float64(after-before) / float64(b.o.subscribers)
	for i := range perMasterAfter {
		var was int64
		if i < len(perMaster) {
			was = perMaster[i]
		}
		b.rep.MasterBytes = append(b.rep.MasterBytes, perMasterAfter[i]-was)
	}
	return nil
}

// pick draws an index with probability proportional to its weight.
func pick(rng *rand.Rand, w []float64) int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	r := rng.Float64() * sum
	for i, x := range w {
		if r < x {
			return i
		}
		r -= x
	}
	return len(w) - 1
}

// audienceCounts times the counts an organizer asks for: every town by
// every group over the whole district, and a few typical segments.
func (b *bench) audienceCounts(ctx context.Context) error {
	var towns, groups []string
	for _, t := range b.app.tax.Towns {
		towns = append(towns, profile.TownIndex(t.ID))
	}
	for _, g := range benchGroupShares {
		groups = append(groups, profile.GroupIndex(g.id))
	}
	for _, expr := range []string{"", "group:farmer & town:(paitan|zhengguo)", "interest:health | interest:safety"} {
		prog, err := b.app.compile(expr, time.Now())
		if err != nil {
			return err
		}
		start := time.Now()
		var rows, cols []string
		if expr == "" {
			rows, cols = towns, groups
		}
		counts, err := b.app.profiles.Count(ctx, b.app.cfg.WeChat.ID, profile.And(prog, profile.Reachable()), rows, cols)
		if err != nil {
			return err
		}
		name := expr
		if name == "" {
			name = "everyone, by town × group"
		}
		b.rep.Counts = append(b.rep.Counts, benchCount{Expr: name, Count: counts.Total, Took: time.Since(start)})
	}
	return nil
}

// planAndQueue creates a personalized district-wide campaign, dry-runs it
// (the plan) and starts it (snapshot of the audience, chunk jobs queued),
// before any worker runs; then cancels it.
func (b *bench) planAndQueue(ctx context.Context) error {
	e := b.app.delivery.engine
	c, err := e.Create(ctx, b.app.cfg.WeChat.ID, campaign.Draft{Name: "全区个性化推送", Mode: campaign.ModePersonalized})
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := e.Plan(ctx, c, 0)
	if err != nil {
		return err
	}
	b.rep.PlanTook = time.Since(start)
	b.rep.PlanAudience = rep.Audience
	b.rep.PlanMassCalls = rep.MassCalls
	payload, _ := json.Marshal(map[string]string{"a": b.app.cfg.WeChat.ID, "c": c.ID})
	start = time.Now()
	if err := e.Handle(ctx, queue.Job{ID: "default:" + c.ID + ":start", Kind: campaign.JobStart, Payload: payload}); err != nil {
		return err
	}
	b.rep.QueueTook = time.Since(start)
	got, err := b.app.delivery.campaigns.Get(ctx, b.app.cfg.WeChat.ID, c.ID)
	if err != nil {
		return err
	}
	b.rep.QueuedChunks, b.rep.Queued = got.Chunks, got.Planned
	_, err = e.Change(ctx, b.app.cfg.WeChat.ID, c.ID, campaign.ActCancel)
	return err
}

// mustBeEmpty refuses a Redis that holds keys: the bench writes millions
// and must not mix them with anyone's data.
func mustBeEmpty(ctx context.Context, url string, cluster []string) error {
	var sum int64
	if cluster != nil {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster})
		defer cc.Close()
		var mu sync.Mutex
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			n, err := c.DBSize(ctx).Result()
			mu.Lock()
			sum += n
			mu.Unlock()
			return err
		})
		if err != nil {
			return fmt.Errorf("redis cluster %s: %w", url, err)
		}
	} else {
		o, err := redis.ParseURL(url)
		if err != nil {
			return fmt.Errorf("--redis-url: %w", err)
		}
		c := redis.NewClient(o)
		defer c.Close()
		if sum, err = c.DBSize(ctx).Result(); err != nil {
			return fmt.Errorf("redis %s: %w", o.Addr, err)
		}
	}
	if sum > 0 {
		return fmt.Errorf("the Redis at --redis-url holds %d keys: the bench writes millions of its own, give it an empty one", sum)
	}
	return nil
}

// usedMemory sums used_memory over the masters (one server: itself), and
// returns each master's.
func usedMemory(ctx context.Context, rdb redis.UniversalClient) (int64, []int64, error) {
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		n, err := redistest.UsedMemory(ctx, rdb)
		return n, []int64{n}, err
	}
	var mu sync.Mutex
	var per []int64
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n, err := redistest.UsedMemory(ctx, c)
		mu.Lock()
		per = append(per, n)
		mu.Unlock()
		return err
	})
	var sum int64
	for _, n := range per {
		sum += n
	}
	slices.Sort(per)
	return sum, per, err
}

// progress draws a progress bar on stderr.
type progress struct {
	w    io.Writer
	last time.Time
	done string // the label whose bar is complete
}

func (p *progress) show(label string, done, total int) {
	if p.done == label || (done < total && time.Since(p.last) < 200*time.Millisecond) {
		return
	}
	p.last = time.Now()
	if done >= total {
		p.done = label
	}
	const width = 30
	n := min(width, done*width/max(total, 1))
	end := ""
	if done >= total {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r%-12s [%s%s] %3d%% %d/%d%s", label, strings.Repeat("#", n), strings.Repeat(".", width-n), done*100/max(total, 1), done, total, end)
}
