package bot_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount"
	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"
)

// nopCache satisfies the SDK's cache for the bare server.
type nopCache struct{}

func (nopCache) Get(string) any                       { return nil }
func (nopCache) Set(string, any, time.Duration) error { return nil }
func (nopCache) IsExist(string) bool                  { return false }
func (nopCache) Delete(string) error                  { return nil }

// bareServer is the baseline: silenceper's server with a handler that only
// echoes, no Redis, no dialogs.
func bareServer(tb testing.TB, token string) string {
	oa := officialaccount.NewOfficialAccount(&oaconfig.Config{AppID: "wxbare", Token: token, Cache: nopCache{}})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

// signedText builds a WeChat text message POST for url, signed at now
// (the webhook refuses stale timestamps).
func signedText(url, token, openID, content string, msgID int64, now time.Time) *http.Request {
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := strconv.FormatInt(msgID, 10)
	body := fmt.Sprintf("<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
		"<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>",
		openID, ts, content, msgID)
	req, _ := http.NewRequest("POST", url+"?signature="+util.Signature(token, ts, nonce)+"&timestamp="+ts+"&nonce="+nonce,
		bytes.NewReader([]byte(body)))
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
// only echoes, alternately in the same run. It reports each one's p50/p99,
// kepubot's time as a multiple of the bare handler's, messages per second
// (one client), Redis round trips per message, and the p50 of one bare
// Redis PING from the same client (what each of those round trips costs at
// least).
func BenchmarkWebhookText(b *testing.B) {
	f := setup(b)
	bare := bareServer(b, f.account.Token)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	const users = 1000
	for i := range users {
		f.phone.Event(f.ctx, fmt.Sprintf("oBench%06d", i), "subscribe", "", nil)
	}
	var kepu, base, ping []time.Duration
	var id int64 = 1 << 40
	f.rtts.Store(0)
	var kepuTotal time.Duration
	for b.Loop() {
		id++
		openID := fmt.Sprintf("oBench%06d", id%users)
		d := post(b, c, signedText(f.url, f.account.Token, openID, "帮助", id, f.clock.Now()))
		kepu = append(kepu, d)
		kepuTotal += d
		base = append(base, post(b, c, signedText(bare, f.account.Token, openID, "帮助", id, f.clock.Now())))
		start := time.Now()
		if err := f.rdb.Ping(f.ctx).Err(); err != nil {
			b.Fatal(err)
		}
		ping = append(ping, time.Since(start))
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
	b.ReportMetric(p(ping, .5), "redis-ping-p50-µs")
	b.ReportMetric(float64(len(kepu))/kepuTotal.Seconds(), "msgs/s")
	b.ReportMetric(rtts, "redis-rtt/msg")
}
