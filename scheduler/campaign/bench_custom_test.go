package campaign_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign/campaigntest"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// BenchmarkCustomMessages sends one item as customer-service messages to n
// followers who all talked to the bot in the last 48 hours (so every one
// is a separate WeChat call), through the engine's per-message states
// (claims and outcomes settled once per wave of senders), and, in the same
// run, on the same Redis and fake WeChat, through hibiken/asynq with one
// task per message and the same number of concurrent senders. It reports
// messages/s for both and their ratio.
func BenchmarkCustomMessages(b *testing.B) {
	n := 20_000
	if testing.Short() {
		n = 1_000
	}
	const workers, senders = 8, 16
	var engineRate, asynqRate float64
	for b.Loop() {
		srv := redistest.StartServer(b, redistest.Options{})
		// WeChat's limits out of the way: the benchmark measures kepubot,
		// not the limiter's rate.
		fast := queue.Limit{Rate: 1_000_000, Per: time.Second, Burst: 10_000}
		bd := setupOn(b, srv.Client(b), clock.Now, "off", func(bd *bundle, cfg *campaign.Config) {
			n, err := notify.New(notify.Config{Redis: bd.rdb, Profiles: bd.profiles, Sender: cfg.Sender, Limiter: cfg.Limiter, Loc: shanghai, Now: clock.Now,
				Senders: senders, Limits: notify.Limits{Custom: fast, Template: fast, MassPerMinute: fast, MassPerDay: fast}})
			if err != nil {
				b.Fatal(err)
			}
			cfg.Notifier = n
		})
		var openIDs []string
		var batch []*profile.Profile
		for i := range n {
			p := &profile.Profile{OpenID: fmt.Sprintf("oB%s%07d", bd.appID[6:], i), Group: "farmer", Town: "paitan", Subscribed: true, CreatedAt: bd.now()}
			fake.Follow(bd.appID, p.OpenID)
			fake.UserMessage(bd.appID, p.OpenID)
			p.TouchMessage(bd.now())
			batch = append(batch, p)
			openIDs = append(openIDs, p.OpenID)
			if len(batch) == 2000 || i == n-1 {
				if _, err := bd.profiles.Import(bd.ctx, "default", batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		stop := bd.run(b, "bench", workers)
		start := time.Now()
		c := bd.create(b, &campaign.Campaign{Name: "bench", Mode: campaign.ModeItem, ItemID: "it2"})
		c = bd.waitDone(b, c.ID, 10*time.Minute)
		took := time.Since(start)
		stop()
		st, _ := bd.engine.Stats(bd.ctx, c, nil, nil)
		if st.ByChannel["custom"] != int64(n) {
			b.Fatalf("engine sent %v by channel, want %d customer-service messages", st.ByChannel, n)
		}
		engineRate = float64(n) / took.Seconds()
		asynqRate = asynqCustom(b, srv, bd.appID, openIDs, workers*senders)
	}
	b.ReportMetric(engineRate, "msgs/s")
	b.ReportMetric(asynqRate, "asynq-msgs/s")
	b.ReportMetric(engineRate/asynqRate, "x-asynq")
}

// asynqCustom sends one customer-service message per asynq task to each
// openid (campaigntest.AsynqPerMessage) and returns messages/s.
func asynqCustom(b *testing.B, srv *redistest.Server, appID string, openIDs []string, concurrency int) float64 {
	opt := asynq.RedisClientOpt{Network: srv.Network, Addr: srv.Addr, PoolSize: concurrency + 10}
	client, err := wechat.New(wechat.Config{AccountID: "asynq", AppID: appID, AppSecret: "sec"}, srv.Client(b), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	send := func(ctx context.Context, openID string) error {
		return client.SendNews(ctx, openID, wechat.Article{Title: "台风来了怎么办", URL: "https://kepu.example.org/a/2"})
	}
	rate, err := campaigntest.AsynqPerMessage(context.Background(), opt, send, openIDs, concurrency, 10*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	return rate
}
