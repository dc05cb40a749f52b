package campaign_test

import (
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// BenchmarkDelivery sends one item to n subscribers through the engine
// (snapshot, chunk jobs, mass batches of 10,000) and, in the same run, the
// same item to a sample of them through a naive queue that sends one
// customer-service message per job (LPUSH, BRPOP, send). It reports
// messages/s for both, their ratio, and the Redis memory the campaign's
// bookkeeping costs per recipient.
func BenchmarkDelivery(b *testing.B) {
	n := 200_000
	if testing.Short() {
		n = 5_000
	}
	var engineRate, naiveRate, memPer float64
	for b.Loop() {
		bd := setupB(b)
		ps := bd.population(b, n)
		before, _ := redistest.UsedMemory(bd.ctx, bd.rdb)
		stop := bd.run(b, "bench", 8)
		start := time.Now()
		c := bd.create(b, &campaign.Campaign{Name: "bench", Mode: campaign.ModeItem, ItemID: "it2"})
		c = bd.waitDone(b, c.ID, 10*time.Minute)
		took := time.Since(start)
		stop()
		st, _ := bd.engine.Stats(bd.ctx, c, nil, nil)
		engineRate = float64(st.Sent) / took.Seconds()
		after, _ := redistest.UsedMemory(bd.ctx, bd.rdb)
		memPer = float64(after-before) / float64(st.Queued)

		// Naive: one job per recipient, one message per job.
		client, _ := wechat.New(wechat.Config{AccountID: "default", AppID: bd.appID, AppSecret: "sec"}, bd.rdb, nil, nil)
		sample := 0
		for o, p := range ps {
			if sample == 2000 {
				break
			}
			if p.Subscribed {
				fake.UserMessage(bd.appID, o)
				sample++
				bd.rdb.LPush(bd.ctx, "naive", o)
			}
		}
		start = time.Now()
		for range sample {
			o, err := bd.rdb.BRPop(bd.ctx, time.Second, "naive").Result()
			if err != nil {
				b.Fatal(err)
			}
			client.SendText(bd.ctx, o[1], "【增城科普】台风来了怎么办")
		}
		naiveRate = float64(sample) / time.Since(start).Seconds()
	}
	b.ReportMetric(engineRate, "msgs/s")
	b.ReportMetric(naiveRate, "naive-msgs/s")
	b.ReportMetric(engineRate/naiveRate, "x-naive")
	b.ReportMetric(memPer, "campaign-bytes/recipient")
}

// setupB is setup for benchmarks (testing.TB).
func setupB(b *testing.B) *bundle {
	return setup(b, clock.Now)
}
