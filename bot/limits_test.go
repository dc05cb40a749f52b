package bot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/silenceper/wechat/v2/util"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// Finding 6: a search whose request is past its deadline does no work
// and says so (the webhook then answers from memory, see Bot.Offline).
func TestSearchStopsAtDeadline(t *testing.T) {
	t.Parallel()
	ix, seg := sampleIndex(t)
	cs := bot.NewContentSearch(seg, nil, nil)
	cs.SetIndex("default", ix)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := &bot.Request{Msg: &bot.Message{Account: "default", OpenID: "oD", Type: "text", Text: "荔枝"}, Profile: &profile.Profile{OpenID: "oD"}}
	if _, err := cs.Search(ctx, req); !errors.Is(err, context.Canceled) {
		t.Errorf("Search(cancelled) = %v, want context.Canceled", err)
	}
	if r, err := cs.Search(context.Background(), req); err != nil || len(r.Articles) == 0 {
		t.Errorf("Search(荔枝) = %+v, %v; want articles", r, err)
	}
}

// Finding 7: message types and events are the sender's words; only known
// ones become metric label values.
func TestMetricLabelsBounded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	tax, _ := taxonomy.Default()
	wh, err := bot.NewWebhook(f.store, bot.New(tax, bot.Options{}), []bot.Account{{ID: "default", AppID: f.account.AppID,
		Token: f.account.Token}}, bot.WebhookOptions{Now: f.clock.Now, Metrics: bot.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(wh)
	t.Cleanup(hs.Close)
	ph := wechattest.NewPhone(f.wx, f.account, hs.URL, false)
	now := f.clock.Now().Unix()
	for i := range 30 {
		bodies := []string{
			fmt.Sprintf("<xml><FromUserName>oM</FromUserName><CreateTime>%d</CreateTime><MsgType>made_up_%d</MsgType><MsgId>%d</MsgId></xml>", now, i, 500+i),
			fmt.Sprintf("<xml><FromUserName>oM</FromUserName><CreateTime>%d</CreateTime><MsgType>event</MsgType><Event>EVT_%d</Event></xml>", now+int64(i), i),
		}
		for _, b := range bodies {
			if _, err := ph.Post(f.ctx, []byte(b)); err != nil {
				t.Fatal(err)
			}
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "kepubot_webhook_messages_total" {
			continue
		}
		types := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "type" {
					types[l.GetValue()] = true
				}
			}
		}
		if len(types) > 3 {
			t.Errorf("60 made-up types and events became %d label values: %v", len(types), types)
		}
		return
	}
	t.Fatal("no kepubot_webhook_messages_total")
}

// Finding 10: URL verification echoes echostr as plain text that a
// browser will not sniff into HTML.
func TestEchostrIsPlainText(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ts, nonce := strconv.FormatInt(f.clock.Now().Unix(), 10), "123"
	req := httptest.NewRequest("GET", "/wechat?signature="+util.Signature(f.account.Token, ts, nonce)+
		"&timestamp="+ts+"&nonce="+nonce+"&echostr=%3Cscript%3Ealert(1)%3C/script%3E", nil)
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	if w.Code != http.StatusOK || w.Body.String() != "<script>alert(1)</script>" {
		t.Fatalf("verify: %d %q", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("verify answered Content-Type %q, nosniff %q; want text/plain and nosniff", ct, w.Header().Get("X-Content-Type-Options"))
	}
}
