// The bench's delivery runs: a campaign through the running service, the
// bulk and per-message paths beside their same-run baselines, and the
// webhook.

package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign/campaigntest"
)

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
	// WeChat's 60 calls a minute per account would stop any queue. Each is
	// followed by the recipients of its calls, so the fake delivers the
	// same messages for the bare queue as for kepubot's send (it skips
	// openids that do not follow the account: lists to accounts nobody
	// followed cost it nothing and made the baseline look faster).
	size := wechat.MassMaxOpenIDs
	clients := map[int]*wechat.Client{}
	accountOf := map[string]int{} // a list's first openid → its account
	for i := 0; i < len(b.openIDs); i += size {
		k := i / size / 50
		acct := wechattest.Account{AppID: fmt.Sprintf("wxbenchbare%04d", k), Secret: "sec"}
		if clients[k] == nil {
			b.wx.AddAccount(acct)
			c, err := wechat.New(wechat.Config{AccountID: acct.AppID, AppID: acct.AppID, AppSecret: "sec"}, b.app.rdb, nil, nil)
			if err != nil {
				return err
			}
			clients[k] = c
		}
		for _, o := range b.openIDs[i:min(i+size, len(b.openIDs))] {
			b.wx.Follow(acct.AppID, o)
		}
		accountOf[b.openIDs[i]] = k
	}
	send := func(ctx context.Context, batch []string) error {
		_, err := clients[accountOf[batch[0]]].MassSendToOpenIDs(ctx, batch, wechat.MassMessage{Text: it.Title}, "")
		return err
	}
	start := time.Now()
	rate, err := campaigntest.BareBatches(ctx, b.app.rdb, "kb:{bench}:bare", send, b.openIDs, size, 8)
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
// webhook, from 8 phones at once, and records latency (until the reply)
// and throughput (until the last message is recorded).
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
	// Throughput counts until every message is recorded: helps are
	// answered before their activity is (bot.recorder).
	if err := b.app.webhook.Flush(ctx); err != nil {
		return err
	}
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
