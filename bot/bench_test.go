package bot_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/officialaccount"
	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// nopCache satisfies the SDK's cache for the bare server.
type nopCache struct{}

func (nopCache) Get(string) any                       { return nil }
func (nopCache) Set(string, any, time.Duration) error { return nil }
func (nopCache) IsExist(string) bool                  { return false }
func (nopCache) Delete(string) error                  { return nil }

// bareServer is the baseline: silenceper's server with a handler that only
// echoes, no Redis, no dialogs, for acct (in safe mode it decrypts the
// request and seals the reply, as kepubot does); times records how long
// its handler takes.
func bareServer(tb testing.TB, acct wechattest.Account, times *handlerTimes) string {
	oa := officialaccount.NewOfficialAccount(&oaconfig.Config{AppID: acct.AppID, Token: acct.Token,
		EncodingAESKey: acct.EncodingAESKey, Cache: nopCache{}})
	hs := httptest.NewServer(times.wrap(func(w http.ResponseWriter, r *http.Request) {
		srv := oa.GetServer(r, w)
		srv.SetMessageHandler(func(m *message.MixMessage) *message.Reply {
			return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(m.Content)}
		})
		if err := srv.Serve(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		srv.Send()
	}))
	tb.Cleanup(hs.Close)
	return hs.URL
}

// handlerTimes records the wall time of a handler serving each request:
// what the server does, without the client and the loopback transport.
type handlerTimes struct {
	mu sync.Mutex
	d  []time.Duration
}

func (h *handlerTimes) wrap(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next(w, r)
		d := time.Since(start)
		h.mu.Lock()
		h.d = append(h.d, d)
		h.mu.Unlock()
	}
}

// all returns the times recorded.
func (h *handlerTimes) all() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.d)
}

// signedText builds a WeChat text message POST for url, signed at now
// (the webhook refuses stale timestamps); in safe mode encrypted, as
// WeChat sends it in 安全模式.
func signedText(url string, acct wechattest.Account, safe bool, openID, content string, msgID int64, now time.Time) *http.Request {
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := strconv.FormatInt(msgID, 10)
	body := fmt.Sprintf("<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
		"<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>",
		openID, ts, content, msgID)
	q := "?signature=" + util.Signature(acct.Token, ts, nonce) + "&timestamp=" + ts + "&nonce=" + nonce
	if safe {
		enc, err := util.EncryptMsg(fmt.Appendf(nil, "%016d", msgID%1e16), []byte(body), acct.AppID, acct.EncodingAESKey)
		if err != nil {
			panic(err)
		}
		q += "&encrypt_type=aes&msg_signature=" + util.Signature(acct.Token, ts, nonce, string(enc))
		body = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[" + string(enc) + "]]></Encrypt></xml>"
	}
	req, _ := http.NewRequest("POST", url+q, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "text/xml")
	return req
}

func post(tb testing.TB, c *http.Client, req *http.Request) time.Duration {
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("status %d", resp.StatusCode)
	}
	return time.Since(start)
}

// BenchmarkWebhookText sends a text message (the 帮助 command, answered
// from the subscriber's profile) through kepubot's webhook over HTTP on
// loopback, and the same message through a bare silenceper handler that
// only echoes, alternately in the same run: plaintext to an account in
// compat mode (the default with an AES key), and encrypted to an account
// in safe mode. It reports each one's p50/p99, kepubot's time as a
// multiple of the bare handler's, messages per second (one client), Redis
// round trips per message, the p50 of one bare Redis PING from the same
// client (what each of those round trips costs at least), and where
// kepubot's time goes: the p50 of each server's handler alone (without
// client and transport), of the commit (EVALSHA) as kepubot's Redis
// client sees it, and the commit script's time inside Redis per call.
func BenchmarkWebhookText(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchWebhookText(b, false) })
	b.Run("safe", func(b *testing.B) { benchWebhookText(b, true) })
}

func benchWebhookText(b *testing.B, safe bool) {
	f := setup(b)
	mode := bot.ModeCompat
	if safe {
		mode = bot.ModeSafe
	}
	tax, _ := taxonomy.Default()
	wh, err := bot.NewWebhook(f.store, bot.New(tax, bot.Options{Scenes: f.scenes}), []bot.Account{{ID: "default",
		AppID: f.account.AppID, Token: f.account.Token, EncodingAESKey: aesKey, EncodingMode: mode}},
		bot.WebhookOptions{Now: f.clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	kepuTimes, bareTimes := &handlerTimes{}, &handlerTimes{}
	hs := httptest.NewServer(kepuTimes.wrap(wh.ServeHTTP))
	b.Cleanup(hs.Close)
	url := hs.URL
	bare := bareServer(b, f.account, bareTimes)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	const users = 1000
	for i := range users {
		f.phone.Event(f.ctx, fmt.Sprintf("oBench%06d", i), "subscribe", "", nil)
	}
	var kepu, recorded, base, ping []time.Duration
	var id int64 = 1 << 40
	commits := &evalshaTimer{}
	f.rdb.AddHook(commits)
	evalBefore := evalshaStats(b, f)
	f.rtts.Store(0)
	var kepuTotal time.Duration
	pingOnce := func() {
		start := time.Now()
		if err := f.rdb.Ping(f.ctx).Err(); err != nil {
			b.Fatal(err)
		}
		ping = append(ping, time.Since(start))
	}
	for b.Loop() {
		id++
		openID := fmt.Sprintf("oBench%06d", id%users)
		start := time.Now()
		d := post(b, c, signedText(url, f.account, safe, openID, "帮助", id, f.clock.Now()))
		kepu = append(kepu, d)
		// Wait for the message's activity to be recorded (it is answered
		// early: a help), so that the bare echo is not timed beside it.
		if err := wh.Flush(f.ctx); err != nil {
			b.Fatal(err)
		}
		recorded = append(recorded, time.Since(start))
		kepuTotal += time.Since(start)
		// Each post comes right after a PING: the echo is not timed just
		// after the client waited for the recorder (a woken thread starts
		// cold), nor kepubot just after the echo.
		pingOnce()
		base = append(base, post(b, c, signedText(bare, f.account, safe, openID, "帮助", id, f.clock.Now())))
		pingOnce()
	}
	rtts := float64(f.rtts.Load()-int64(len(ping))) / float64(len(kepu))
	p := func(ds []time.Duration, q float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[int(q*float64(len(s)-1))].Microseconds())
	}
	b.ReportMetric(p(kepu, .5), "p50-µs")
	b.ReportMetric(p(kepu, .99), "p99-µs")
	b.ReportMetric(p(base, .5), "bare-p50-µs")
	b.ReportMetric(p(base, .99), "bare-p99-µs")
	b.ReportMetric(p(kepu, .5)/p(base, .5), "p50/bare")
	b.ReportMetric(p(recorded, .5), "recorded-p50-µs")
	b.ReportMetric(p(ping, .5), "redis-ping-p50-µs")
	if len(commits.d) > 0 {
		b.ReportMetric(p(commits.d, .5), "commit-p50-µs")
	}
	b.ReportMetric(p(kepuTimes.all(), .5), "handler-p50-µs")
	b.ReportMetric(p(bareTimes.all(), .5), "bare-handler-p50-µs")
	b.ReportMetric(float64(len(kepu))/kepuTotal.Seconds(), "msgs/s")
	b.ReportMetric(rtts, "redis-rtt/msg")
	// Time spent inside Redis by the commit script, per call of the loop
	// (the warm-up's follows, which create profiles, left out).
	if after := evalshaStats(b, f); after.calls > evalBefore.calls {
		b.ReportMetric((after.usec-evalBefore.usec)/(after.calls-evalBefore.calls), "redis-evalsha-µs")
	}
}

// evalshaStats reads the EVALSHA line of Redis's INFO commandstats: calls
// and microseconds spent inside Redis so far.
func evalshaStats(b *testing.B, f *fixture) (st struct{ calls, usec float64 }) {
	info, err := f.rdb.Info(f.ctx, "commandstats").Result()
	if err != nil {
		b.Log("no INFO commandstats:", err)
		return st
	}
	for line := range strings.Lines(info) {
		if rest, ok := strings.CutPrefix(line, "cmdstat_evalsha:"); ok {
			for kv := range strings.SplitSeq(strings.TrimSpace(rest), ",") {
				k, v, _ := strings.Cut(kv, "=")
				n, _ := strconv.ParseFloat(v, 64)
				switch k {
				case "calls":
					st.calls = n
				case "usec":
					st.usec = n
				}
			}
		}
	}
	return st
}

// evalshaTimer is a go-redis hook that times each EVALSHA (the commit) from
// the client's side: writing it, Redis running it, reading the answer.
type evalshaTimer struct {
	mu sync.Mutex
	d  []time.Duration
}

func (h *evalshaTimer) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *evalshaTimer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "evalsha" {
			return next(ctx, cmd)
		}
		start := time.Now()
		err := next(ctx, cmd)
		d := time.Since(start)
		h.mu.Lock()
		h.d = append(h.d, d)
		h.mu.Unlock()
		return err
	}
}
func (h *evalshaTimer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
