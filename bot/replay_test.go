package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// textXML is a plaintext text message from openID.
func textXML(openID, content string, at time.Time, msgID int64) []byte {
	return fmt.Appendf(nil, "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
		"<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>",
		openID, at.Unix(), content, msgID)
}

// Finding 1: a request whose signed timestamp is far from now is refused
// and changes nothing, however valid its signature.
func TestStaleTimestampRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := f.clock.Now()
	for _, ts := range []time.Time{
		time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2286, 1, 1, 0, 0, 0, 0, time.UTC),
		now.Add(-6 * time.Minute),
		now.Add(6 * time.Minute),
	} {
		for _, ph := range []*wechattest.Phone{f.phone, f.safe} {
			r, err := ph.Post(f.ctx, textXML("oStale", "退订", now, ts.UnixNano()%1e9), wechattest.WithTimestamp(ts.Unix()))
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != http.StatusForbidden {
				t.Errorf("timestamp %s: status %d, want 403", ts, r.Status)
			}
		}
	}
	if p, _, _ := f.store.Get(f.ctx, "default", "oStale"); p != nil {
		t.Errorf("a stale request created a profile: %+v", p)
	}
	// Within the allowed skew it is served.
	r, err := f.phone.Post(f.ctx, textXML("oStale", "帮助", now, 1), wechattest.WithTimestamp(now.Add(-4*time.Minute).Unix()))
	if err != nil || r.Status != http.StatusOK {
		t.Errorf("4 minutes old: %v, %v; want 200", r.Status, err)
	}
}

// Finding 1: a captured signature triple (timestamp, nonce, signature)
// cannot carry another message, even while it is fresh: another body,
// another openid, or a plaintext body for an account in safe mode.
func TestCapturedTripleCarriesNoOtherMessage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oVictim", "subscribe", "", nil)
	f.text(t, "oVictim", "跳过")
	f.event(t, "oOther", "subscribe", "", nil)
	f.text(t, "oOther", "跳过")
	now := f.clock.Now()
	ts, nonce := wechattest.WithTimestamp(now.Unix()), wechattest.WithNonce("1320562132")
	// The resident's own message, as WeChat sent it.
	if r, err := f.phone.Post(f.ctx, textXML("oVictim", "帮助", now, 7001), ts, nonce); err != nil || r.Status != 200 {
		t.Fatalf("first use: %v %v", r.Status, err)
	}
	// The attacker's bodies under the same triple.
	for _, body := range [][]byte{
		textXML("oVictim", "退订", now, 7002),
		textXML("oOther", "退订", now, 7001),
		textXML("oVictim", "删除我的数据", now, 7003),
	} {
		r, err := f.phone.Post(f.ctx, body, ts, nonce)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusForbidden {
			t.Errorf("reused triple with %s: status %d, want 403", body, r.Status)
		}
	}
	for _, id := range []string{"oVictim", "oOther"} {
		if p := f.profile(t, id); p == nil || p.OptedOut {
			t.Errorf("%s after forged requests: %+v, want subscribed and not opted out", id, p)
		}
	}
	// WeChat's retry of the same message, with the same triple, gets the
	// same reply.
	first, _ := f.phone.Post(f.ctx, textXML("oVictim", "帮助", now, 7001), wechattest.WithTimestamp(now.Unix()), wechattest.WithNonce("99"))
	again, err := f.phone.Post(f.ctx, textXML("oVictim", "帮助", now, 7001), ts, nonce)
	if err != nil || again.Status != 200 || again.Content != first.Content {
		t.Errorf("retry with the same triple: %d %q, want 200 %q", again.Status, again.Content, first.Content)
	}
}

// Finding 2: a request replayed after WeChat's retries are over (130 s)
// changes nothing: 退订, 订阅, then the first 退订 request again.
func TestReplayAfterRetriesChangesNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oRp", "subscribe", "", nil)
	f.text(t, "oRp", "跳过")
	for _, ph := range []*wechattest.Phone{f.phone, f.safe} {
		f.clock.Add(time.Second)
		now := f.clock.Now()
		ts, nonce := wechattest.WithTimestamp(now.Unix()), wechattest.WithNonce(fmt.Sprint(now.Unix()))
		optOut := textXML("oRp", "退订", now, now.Unix())
		if r, err := ph.Post(f.ctx, optOut, ts, nonce); err != nil || r.Status != 200 {
			t.Fatal(r, err)
		}
		f.clock.Add(5 * time.Second)
		f.text(t, "oRp", "订阅")
		f.clock.Add(130 * time.Second)
		r, err := ph.Post(f.ctx, optOut, ts, nonce)
		if err != nil {
			t.Fatal(err)
		}
		if p := f.profile(t, "oRp"); p.OptedOut {
			t.Errorf("a 退订 replayed after 130 s opted out again (status %d)", r.Status)
		}
		// Once the timestamp is stale, the replay is refused outright.
		f.clock.Add(4 * time.Minute)
		if r, _ := ph.Post(f.ctx, optOut, ts, nonce); r.Status != http.StatusForbidden {
			t.Errorf("replay after 6 minutes: status %d, want 403", r.Status)
		}
		if p := f.profile(t, "oRp"); p.OptedOut {
			t.Errorf("a stale replay opted out")
		}
	}
}

// Finding 1: an account in safe mode refuses plaintext bodies, which the
// URL signature does not cover; compat (the default with an AES key)
// takes both.
func TestSafeModeRefusesPlaintext(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tax, _ := taxonomy.Default()
	wh, err := bot.NewWebhook(f.store, bot.New(tax, bot.Options{}), []bot.Account{{ID: "default", AppID: f.account.AppID,
		Token: f.account.Token, EncodingAESKey: aesKey, EncodingMode: bot.ModeSafe}}, bot.WebhookOptions{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(wh)
	t.Cleanup(hs.Close)
	plain := wechattest.NewPhone(f.wx, f.account, hs.URL, false)
	safe := wechattest.NewPhone(f.wx, f.account, hs.URL, true)
	now := f.clock.Now()
	if r, _ := plain.Post(f.ctx, textXML("oSafe", "帮助", now, 1)); r.Status != http.StatusForbidden {
		t.Errorf("plaintext in safe mode: status %d, want 403", r.Status)
	}
	if p, _, _ := f.store.Get(f.ctx, "default", "oSafe"); p != nil {
		t.Errorf("refused plaintext created a profile")
	}
	if r, err := safe.Post(f.ctx, textXML("oSafe", "帮助", now, 2)); err != nil || r.Status != 200 {
		t.Errorf("encrypted in safe mode: %d %v, want 200", r.Status, err)
	}
	for _, a := range []bot.Account{
		{ID: "x", AppID: "a", Token: "t", EncodingMode: bot.ModeSafe}, // no key
		{ID: "x", AppID: "a", Token: "t", EncodingMode: "strict"},
	} {
		if _, err := bot.NewWebhook(f.store, nil, []bot.Account{a}, bot.WebhookOptions{}); err == nil {
			t.Errorf("NewWebhook(mode %q, key %q) = nil error", a.EncodingMode, a.EncodingAESKey)
		}
	}
}

// Finding 13: after 删除我的数据 + 确认删除 no Redis key name carries the
// openid (the webhook's dedup records, which outlive the erasure by
// minutes, are named by pseudonym).
func TestErasureLeavesNoOpenIDKeys(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oGone", "subscribe", "", nil)
	f.text(t, "oGone", "农民")
	f.text(t, "oGone", "删除我的数据")
	f.text(t, "oGone", "确认删除")
	keys, err := f.rdb.Keys(f.ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, "oGone") {
			t.Errorf("key %q names the erased subscriber", k)
		}
	}
}

// Finding 16: an openid outside [A-Za-z0-9_-]{1,64} is refused (400) and
// stored nowhere.
func TestMalformedOpenIDRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := f.clock.Now()
	for i, id := range []string{"o{x}", "o x", "o<b>", strings.Repeat("o", 65), "微信用户"} {
		r, err := f.phone.Post(f.ctx, textXML(id, "订阅", now, int64(900+i)))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusBadRequest {
			t.Errorf("openid %q: status %d, want 400", id, r.Status)
		}
	}
	if keys, _ := f.rdb.Keys(f.ctx, "*").Result(); len(keys) > 0 {
		for _, k := range keys {
			if strings.Contains(k, "{x}") || strings.Contains(k, "<b>") {
				t.Errorf("key %q from a malformed openid", k)
			}
		}
	}
}

// 我的数据 shows the data, as 我的 does (it fell through to search).
func TestMyDataShowsProfile(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oMine", "subscribe", "", nil)
	f.text(t, "oMine", "农民")
	want := f.text(t, "oMine", "我的").Content
	if got := f.text(t, "oMine", "我的数据").Content; got != want || !strings.Contains(got, "农民") {
		t.Errorf("我的数据 = %q, want what 我的 shows: %q", got, want)
	}
}

// Finding 1: a nonce that could not name a Redis key (braces, colons,
// spaces, too long) is refused; WeChat's digits and test-style names pass.
func TestNonceShape(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := f.clock.Now()
	for i, tc := range []struct {
		nonce string
		want  int
	}{
		{"1320562132", http.StatusOK}, {"nonce-1_a.b", http.StatusOK},
		{"{x}", http.StatusForbidden}, {"a:b", http.StatusForbidden}, {"a b", http.StatusForbidden},
		{strings.Repeat("7", 65), http.StatusForbidden},
	} {
		r, err := f.phone.Post(f.ctx, textXML("oNonce", "帮助", now, int64(300+i)), wechattest.WithNonce(tc.nonce))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != tc.want {
			t.Errorf("nonce %q: status %d, want %d", tc.nonce, r.Status, tc.want)
		}
	}
}

// safeReplica starts one more kepubot replica on f's Redis serving f's
// account in safe mode: its own store with the profile cache (as in
// production) and its own webhook. observed counts the messages whose
// outcome it stored; ran counts its handler's runs.
func (f *fixture) safeReplica(t *testing.T, observed, ran *atomic.Int64) (*wechattest.Phone, *bot.Webhook) {
	t.Helper()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	store, err := profile.NewStore(f.ctx, f.rdb, loc)
	if err != nil {
		t.Fatal(err)
	}
	store.EnableCache(1000)
	tax, _ := taxonomy.Default()
	b := bot.New(tax, bot.Options{Scenes: f.scenes})
	h := bot.HandlerFunc(func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
		ran.Add(1)
		return b.Handle(ctx, req)
	})
	wh, err := bot.NewWebhook(store, h, []bot.Account{{ID: "default", AppID: f.account.AppID, Token: f.account.Token,
		EncodingAESKey: aesKey, EncodingMode: bot.ModeSafe}},
		bot.WebhookOptions{Now: f.clock.Now, Observe: func(*bot.Message, bot.Reply) { observed.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(wh)
	t.Cleanup(hs.Close)
	return wechattest.NewPhone(f.wx, f.account, hs.URL, true), wh
}

// Issue 15 item 8: in safe mode the webhook claims no nonce (one Redis
// round trip a message in a conversation). A captured request replayed —
// the same bytes, at once on two replicas and again later, or the same
// message sealed anew under a new nonce as WeChat resends it — is handled
// once: one stored outcome, the same reply for every copy, the profile
// changed once.
func TestSafeModeReplayRunsOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var observed, ran atomic.Int64
	a, wa := f.safeReplica(t, &observed, &ran)
	b, _ := f.safeReplica(t, &observed, &ran)
	f.clock.Add(time.Second)
	if r, err := a.Event(f.ctx, "oReplay", "subscribe", "", nil); err != nil || r.Status != 200 {
		t.Fatalf("subscribe: %v %v", r.Status, err)
	}
	f.clock.Add(time.Second)
	if r, err := b.Text(f.ctx, "oReplay", "帮助"); err != nil || r.Status != 200 {
		t.Fatalf("帮助: %v %v", r.Status, err)
	}
	f.clock.Add(time.Second)
	now := f.clock.Now()
	// The group answer: handled twice, the second 农民 would be a wrong
	// answer to the town question.
	msg := textXML("oReplay", "农民", now, 424242)
	captured := []wechattest.PostOption{wechattest.WithTimestamp(now.Unix()), wechattest.WithNonce("5550001"),
		wechattest.WithRandom("abcdefghijklmnop")}
	base, ranBase := observed.Load(), ran.Load()
	replies := make([]wechattest.Reply, 8)
	var wg sync.WaitGroup
	for i := range replies {
		ph := []*wechattest.Phone{a, b}[i%2]
		wg.Go(func() {
			r, err := ph.Post(f.ctx, msg, captured...)
			if err != nil {
				t.Error(err)
			}
			replies[i] = r
		})
	}
	wg.Wait()
	want := replies[0].Content
	if !strings.Contains(want, "镇街") {
		t.Fatalf("reply to 农民 = %d %q, want the town question", replies[0].Status, want)
	}
	for i, r := range replies {
		if r.Status != 200 || r.Content != want {
			t.Errorf("copy %d: %d %q, want 200 %q", i, r.Status, r.Content, want)
		}
	}
	t.Logf("8 racing copies on 2 replicas: %d handler runs, %d stored", ran.Load()-ranBase, observed.Load()-base)
	// Later, within the timestamp window: the same bytes, and the message
	// sealed anew (new random, nonce and timestamp) as WeChat resends it.
	f.clock.Add(2 * time.Minute)
	for _, ph := range []*wechattest.Phone{a, b} {
		for _, opts := range [][]wechattest.PostOption{captured, nil} {
			if r, err := ph.Post(f.ctx, msg, opts...); err != nil || r.Status != 200 || r.Content != want {
				t.Errorf("later replay (%d options): %d %q %v, want 200 %q", len(opts), r.Status, r.Content, err, want)
			}
		}
	}
	if n := observed.Load() - base; n != 1 {
		t.Errorf("the message's outcome was stored %d times, want once", n)
	}
	if p := f.profile(t, "oReplay"); p.Group != "farmer" || p.Step != profile.StepTown {
		t.Errorf("profile after replays = %+v, want farmer and the town question open", p)
	}
	if keys, _ := f.rdb.Keys(f.ctx, "kb:wn:*").Result(); len(keys) > 0 {
		t.Errorf("safe mode claimed nonces: %v", keys)
	}
	// Past the window the captured request is refused outright.
	f.clock.Add(4 * time.Minute)
	if r, _ := b.Post(f.ctx, msg, captured...); r.Status != http.StatusForbidden {
		t.Errorf("replay after 6 minutes: status %d, want 403", r.Status)
	}
	// A message of a conversation on the replica that has the subscriber
	// cached is one round trip: the commit (for 帮助, made just after the
	// answer: Flush waits for it).
	f.clock.Add(time.Second)
	a.Text(f.ctx, "oReplay", "派潭")
	if err := wa.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	before := f.rtts.Load()
	f.clock.Add(time.Second)
	if r, err := a.Text(f.ctx, "oReplay", "帮助"); err != nil || r.Status != 200 {
		t.Fatalf("帮助: %v %v", r.Status, err)
	}
	if err := wa.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.rtts.Load() - before; n != 1 {
		t.Errorf("a cached safe-mode message cost %d Redis round trips, want 1", n)
	}
}

// In compat mode the nonce claim stays: the (timestamp, nonce, signature)
// of an encrypted request, whose URL signature does not cover the body,
// cannot carry a forged plaintext body.
func TestCompatTripleOfEncryptedCarriesNoPlaintext(t *testing.T) {
	t.Parallel()
	f := setup(t) // compat: f.phone posts plaintext, f.safe encrypted
	f.event(t, "oCompat", "subscribe", "", nil)
	f.text(t, "oCompat", "跳过")
	f.clock.Add(time.Second)
	now := f.clock.Now()
	triple := []wechattest.PostOption{wechattest.WithTimestamp(now.Unix()), wechattest.WithNonce("8880001")}
	if r, err := f.safe.Post(f.ctx, textXML("oCompat", "帮助", now, 8001), triple...); err != nil || r.Status != 200 {
		t.Fatalf("encrypted: %v %v", r.Status, err)
	}
	r, err := f.phone.Post(f.ctx, textXML("oCompat", "退订", now, 8002), triple...)
	if err != nil || r.Status != http.StatusForbidden {
		t.Errorf("plaintext under an encrypted request's triple: %d %v, want 403", r.Status, err)
	}
	if p := f.profile(t, "oCompat"); p.OptedOut {
		t.Errorf("a forged plaintext body opted the subscriber out")
	}
}
