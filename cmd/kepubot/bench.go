package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign/campaigntest"
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
	}
	return b.rep, nil
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

// item returns the n-th published item of the sample library (by id).
func (b *bench) item(ctx context.Context, n int) (content.Item, error) {
	items, err := b.app.content.Published(ctx, b.app.cfg.WeChat.ID, content.Query{})
	if err != nil {
		return content.Item{}, err
	}
	if len(items) <= n {
		return content.Item{}, errors.New("the sample library has too few published items")
	}
	slices.SortFunc(items, func(a, b content.Item) int { return strings.Compare(a.ID, b.ID) })
	return items[n], nil
}

// runCampaign sends one item to audience through the running service and
// returns its stats and how long it took from start to done.
func (b *bench) runCampaign(ctx context.Context, name, audience string, itemID string, label string) (campaign.Stats, time.Duration, error) {
	e := b.app.delivery.engine
	c, err := e.Create(ctx, b.app.cfg.WeChat.ID, campaign.Draft{Name: name, Audience: audience, ItemID: itemID})
	if err != nil {
		return campaign.Stats{}, 0, err
	}
	start, lastStats := time.Now(), time.Now()
	if _, err := e.Change(ctx, b.app.cfg.WeChat.ID, c.ID, campaign.ActStart); err != nil {
		return campaign.Stats{}, 0, err
	}
	for {
		c, err = b.app.delivery.campaigns.Get(ctx, b.app.cfg.WeChat.ID, c.ID)
		if err != nil {
			return campaign.Stats{}, 0, err
		}
		if c.Status == campaign.StatusDone {
			break
		}
		// Stats counts over every shard's bitmaps: once a second, so the
		// progress bar does not load the Redis it measures.
		if time.Since(lastStats) >= time.Second {
			lastStats = time.Now()
			st, err := e.Stats(ctx, c, nil, nil)
			if err != nil {
				return st, 0, err
			}
			b.prog.show(label, int(st.Sent+st.Failed+st.Skipped), int(max(c.Planned, 1)))
		}
		select {
		case <-ctx.Done():
			return campaign.Stats{}, 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	took := time.Since(start)
	st, err := e.Stats(ctx, c, nil, nil)
	b.prog.show(label, int(st.Sent+st.Failed+st.Skipped), int(max(c.Planned, 1)))
	return st, took, err
}

// bulk sends one item to everyone (nobody has an open window: all by mass
// send), and the same recipients in the same lists of 10,000 through a
// bare queue.
func (b *bench) bulk(ctx context.Context) error {
	it, err := b.item(ctx, 0)
	if err != nil {
		return err
	}
	st, took, err := b.runCampaign(ctx, "全区群发", "", it.ID, "bulk")
	if err != nil {
		return err
	}
	if st.Sent != int64(b.o.subscribers) {
		return fmt.Errorf("bulk campaign sent %d of %d (stats %+v)", st.Sent, b.o.subscribers, st)
	}
	b.rep.Bulk = benchRate{N: int(st.Sent), Took: took}
	b.rep.BulkCalls = st.MassCalls
	// The bare queue: fresh accounts of the fake, one per 50 calls, since
	// WeChat's 60 calls a minute per account would stop any queue.
	var mu sync.Mutex
	calls := 0
	clients := map[int]*wechat.Client{}
	send := func(ctx context.Context, batch []string) error {
		mu.Lock()
		k := calls / 50
		calls++
		c := clients[k]
		if c == nil {
			acct := wechattest.Account{AppID: fmt.Sprintf("wxbenchbare%04d", k), Secret: "sec"}
			b.wx.AddAccount(acct)
			if c, err = wechat.New(wechat.Config{AccountID: acct.AppID, AppID: acct.AppID, AppSecret: "sec"}, b.app.rdb, nil, nil); err != nil {
				mu.Unlock()
				return err
			}
			clients[k] = c
		}
		mu.Unlock()
		_, err := c.MassSendToOpenIDs(ctx, batch, wechat.MassMessage{Text: it.Title}, "")
		return err
	}
	start := time.Now()
	rate, err := campaigntest.BareBatches(ctx, b.app.rdb, "kb:{bench}:bare", send, b.openIDs, wechat.MassMaxOpenIDs, 8)
	if err != nil {
		return err
	}
	b.rep.BulkBare = benchRate{N: len(b.openIDs), Took: time.Since(start)}
	_ = rate
	return nil
}

// perMessageRun opens the 48-hour window of the first perMessage
// subscribers (they message the bot) and sends them one item each as a
// customer-service message through the service, then the same messages
// through asynq (one task per message) and a naive list queue.
func (b *bench) perMessageRun(ctx context.Context) error {
	it, err := b.item(ctx, 1)
	if err != nil {
		return err
	}
	ids := b.openIDs[:b.o.perMessage]
	now := time.Now()
	for i, o := range ids {
		b.wx.UserMessage(b.acct.AppID, o)
		if err := b.app.profiles.Update(ctx, b.app.cfg.WeChat.ID, o, func(p *profile.Profile) (*profile.Profile, error) {
			p.TouchMessage(now)
			return p, nil
		}); err != nil {
			return err
		}
		if (i+1)%1000 == 0 || i == len(ids)-1 {
			b.prog.show("windows", i+1, len(ids))
		}
	}
	st, took, err := b.runCampaign(ctx, "窗口内逐条推送", "active:1d", it.ID, "per message")
	if err != nil {
		return err
	}
	if st.ByChannel["custom"] != int64(len(ids)) {
		return fmt.Errorf("per-message campaign sent %v by channel, want %d customer-service messages", st.ByChannel, len(ids))
	}
	b.rep.PerMessage = benchRate{N: len(ids), Took: took}
	client := b.app.wechat[b.app.cfg.WeChat.ID]
	send := func(ctx context.Context, openID string) error {
		return client.SendNews(ctx, openID, wechat.Article{Title: it.Title, URL: "https://kepu.example.org/a/1"})
	}
	workers := b.app.cfg.Delivery.Workers * b.app.delivery.notifier.Senders()
	start := time.Now()
	if _, err := campaigntest.AsynqPerMessage(ctx, b.asynqOpt(workers+10), send, ids, workers, 30*time.Minute); err != nil {
		return err
	}
	b.rep.Asynq = benchRate{N: len(ids), Took: time.Since(start)}
	start = time.Now()
	if _, err := campaigntest.NaiveQueue(ctx, b.app.rdb, "kb:{bench}:naive", send, ids, workers); err != nil {
		return err
	}
	b.rep.Naive = benchRate{N: len(ids), Took: time.Since(start)}
	return nil
}

// asynqOpt connects asynq to the bench's Redis.
func (b *bench) asynqOpt(pool int) asynq.RedisConnOpt {
	if b.cluster != nil {
		return asynq.RedisClusterClientOpt{Addrs: b.cluster}
	}
	o, _ := redis.ParseURL(b.url)
	return asynq.RedisClientOpt{Addr: o.Addr, Password: o.Password, DB: o.DB, PoolSize: pool}
}

// webhookRun sends text messages (帮助) from existing subscribers to the
// webhook, from 8 phones at once, and records latency and throughput.
func (b *bench) webhookRun(ctx context.Context) error {
	phone := wechattest.NewPhone(b.wx, b.acct, "http://"+b.app.Addr()+"/wechat", false)
	const phones = 8
	lat := make([]time.Duration, b.o.webhook)
	var wg sync.WaitGroup
	errs := make(chan error, phones)
	start := time.Now()
	for w := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.o.webhook; i += phones {
				t := time.Now()
				r, err := phone.Text(ctx, b.openIDs[(i*7919)%len(b.openIDs)], "帮助")
				if err == nil && r.Status != 200 {
					err = fmt.Errorf("webhook answered %d", r.Status)
				}
				if err != nil {
					errs <- err
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	slices.Sort(lat)
	b.rep.Webhook = benchRate{N: b.o.webhook, Took: took}
	b.rep.WebhookP50, b.rep.WebhookP99 = lat[len(lat)/2], lat[len(lat)*99/100]
	return nil
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
