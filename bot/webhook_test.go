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

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

const aesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

type fixture struct {
	ctx     context.Context
	rdb     redis.UniversalClient
	store   *profile.Store
	scenes  *qrcode.Store
	wx      *wechattest.Server
	phone   *wechattest.Phone // plaintext
	safe    *wechattest.Phone // safe mode
	url     string
	account wechattest.Account
	clock   *clock
	rtts    *atomic.Int64 // Redis round trips
	handler http.Handler
	wh      *bot.Webhook
}

// clock is a settable clock shared by the fake WeChat and the webhook.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func setup(t testing.TB, opts ...func(*bot.Options)) *fixture {
	t.Helper()
	return setupOn(t, redistest.Start(t), opts...)
}

// setupOn is setup on a given Redis (e.g. one a test kills).
func setupOn(t testing.TB, rdb redis.UniversalClient, opts ...func(*bot.Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{ctx: ctx, rdb: rdb, clock: &clock{t: time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)}, rtts: new(atomic.Int64)}
	f.rdb.AddHook(countHook{f.rtts})
	loc, _ := time.LoadLocation("Asia/Shanghai")
	var err error
	if f.store, err = profile.NewStore(ctx, f.rdb, loc); err != nil {
		t.Fatal(err)
	}
	f.store.EnableCache(100_000) // as in production: the one-round-trip path

	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	f.scenes = qrcode.NewStore(f.rdb)
	o := bot.Options{Scenes: f.scenes}
	for _, fn := range opts {
		fn(&o)
	}
	b := bot.New(tax, o)
	f.account = wechattest.Account{AppID: "wxbottest", Secret: "s", Token: "tok123", EncodingAESKey: aesKey}
	wh, err := bot.NewWebhook(f.store, b, []bot.Account{{ID: "default", AppID: f.account.AppID, Token: f.account.Token, EncodingAESKey: aesKey}},
		bot.WebhookOptions{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.wh = wh
	t.Cleanup(func() { wh.Close(context.Background()) })
	mux := http.NewServeMux()
	mux.Handle("/wechat", wh)
	mux.Handle("/wechat/{account}", wh)
	f.handler = mux
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	f.url = hs.URL + "/wechat"
	f.wx = wechattest.New(wechattest.Options{Now: f.clock.Now})
	t.Cleanup(f.wx.Close)
	f.wx.AddAccount(f.account)
	f.phone = wechattest.NewPhone(f.wx, f.account, f.url, false)
	f.safe = wechattest.NewPhone(f.wx, f.account, f.url, true)
	return f
}

type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

func (f *fixture) text(t testing.TB, openID, content string) wechattest.Reply {
	t.Helper()
	f.clock.Add(time.Second)
	r, err := f.phone.Text(f.ctx, openID, content)
	if err != nil {
		t.Fatalf("Text(%q): %v", content, err)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("Text(%q): status %d: %s", content, r.Status, r.Raw)
	}
	return r
}

func (f *fixture) event(t testing.TB, openID, event, key string, extra map[string]string) wechattest.Reply {
	t.Helper()
	f.clock.Add(time.Second)
	r, err := f.phone.Event(f.ctx, openID, event, key, extra)
	if err != nil {
		t.Fatalf("Event(%s): %v", event, err)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("Event(%s): status %d: %s", event, r.Status, r.Raw)
	}
	return r
}

// profile reads openid's profile once what the webhook answered early is
// recorded.
func (f *fixture) profile(t testing.TB, openID string) *profile.Profile {
	t.Helper()
	f.flush(t)
	p, _, err := f.store.Get(f.ctx, "default", openID)
	if err != nil {
		t.Fatalf("Get(%s): %v", openID, err)
	}
	return p
}

// flush waits for what the webhook answered early to be recorded.
func (f *fixture) flush(t testing.TB) {
	t.Helper()
	if err := f.wh.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
}

func wantContains(t testing.TB, r wechattest.Reply, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.Content, p) {
			t.Errorf("reply %q does not contain %q", r.Content, p)
		}
	}
}

func TestOnboardingByName(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.event(t, "oFarmer", "subscribe", "", nil)
	wantContains(t, r, "欢迎", "哪类人", "农民")
	wantContains(t, f.text(t, "oFarmer", "农民"), "哪个镇街", "派潭镇")
	wantContains(t, f.text(t, "oFarmer", "派潭镇"), "关心什么", "荔枝")
	wantContains(t, f.text(t, "oFarmer", "荔枝 气象"), "设置好了", "农民", "派潭镇", "荔枝")
	p := f.profile(t, "oFarmer")
	if p.Group != "farmer" || p.Town != "paitan" || !p.HasInterest("litchi") || !p.HasInterest("weather") {
		t.Errorf("profile = %+v, want farmer/paitan/{litchi,weather}", p)
	}
	if !p.Subscribed || p.OptedOut || p.Step != profile.StepNone || p.CreatedAt.IsZero() || p.LastMessageAt.IsZero() {
		t.Errorf("profile state = %+v", p)
	}
}

func TestOnboardingByNumberSynonymAndSkip(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oU", "subscribe", "", nil)
	wantContains(t, f.text(t, "oU", "胡说八道"), "没看懂", "哪类人") // nonsense: asked again
	f.text(t, "oU", "跳过")
	f.text(t, "oU", "派潭")                         // short name
	wantContains(t, f.text(t, "oU", "１"), "设置好了") // full-width number into the suggested topics
	p := f.profile(t, "oU")
	if p.Group != "" || p.Town != "paitan" || len(p.Interests) != 1 {
		t.Errorf("profile = %+v, want no group, paitan, one interest", p)
	}
}

func TestQRSceneProfilesWithoutQuestions(t *testing.T) {
	t.Parallel()
	f := setup(t)
	sc := qrcode.Scene{Scene: "s1", Group: "farmer", Town: "paitan", Interests: []string{"litchi", "weather"}, Source: "training-2027"}
	if err := f.scenes.Save(f.ctx, "default", sc); err != nil {
		t.Fatal(err)
	}
	r := f.event(t, "oQR", "subscribe", "qrscene_s1", map[string]string{"Ticket": "t1"})
	wantContains(t, r, "已为您设置好", "农民", "派潭镇")
	if strings.Contains(r.Content, "哪类人") || strings.Contains(r.Content, "哪个镇街") {
		t.Errorf("QR subscribe asked questions: %q", r.Content)
	}
	p := f.profile(t, "oQR")
	if p.Group != "farmer" || p.Town != "paitan" || !p.HasInterest("litchi") || p.Source != "training-2027" || p.Step != profile.StepNone {
		t.Errorf("profile = %+v", p)
	}
	// A follower scanning another code gets its attributes and source.
	f.scenes.Save(f.ctx, "default", qrcode.Scene{Scene: "s2", Town: "zhengguo", Source: "fair"})
	wantContains(t, f.event(t, "oQR", "SCAN", "s2", map[string]string{"Ticket": "t2"}), "正果")
	if p := f.profile(t, "oQR"); p.Town != "zhengguo" || p.Source != "fair" || p.Group != "farmer" {
		t.Errorf("after SCAN: %+v", p)
	}
	// An elder-mode code (a poster at the senior centre) turns it on.
	f.scenes.Save(f.ctx, "default", qrcode.Scene{Scene: "s3", Town: "paitan", Elder: true})
	wantContains(t, f.event(t, "oQR3", "subscribe", "qrscene_s3", map[string]string{"Ticket": "t3"}), "长辈模式")
	if p := f.profile(t, "oQR3"); !p.Elder || p.Town != "paitan" {
		t.Errorf("after an elder-mode code: %+v", p)
	}
}

func TestRetriesChangeStateOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oR", "subscribe", "", nil)
	first := f.text(t, "oR", "农民")
	before := f.rtts.Load()
	for range 2 {
		r, err := f.phone.Post(f.ctx, first.Request)
		if err != nil {
			t.Fatal(err)
		}
		if r.Content != first.Content {
			t.Errorf("retry reply = %q, want the first reply %q", r.Content, first.Content)
		}
	}
	// Each: the nonce claim, then the dedup record's reply.
	if n := f.rtts.Load() - before; n > 6 {
		t.Errorf("two retries cost %d Redis round trips, want at most 3 each", n)
	}
	// Handled twice, "农民" would have been a wrong answer to the town question.
	if p := f.profile(t, "oR"); p.Group != "farmer" || p.Step != profile.StepTown {
		t.Errorf("profile after retries = %+v, want farmer and the town question open", p)
	}
}

func TestLateRetryOfOldOptOut(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oL", "subscribe", "", nil)
	f.text(t, "oL", "跳过")
	t0 := f.clock.Now().Add(time.Minute)
	msg := func(content string, at time.Time, id int) []byte {
		return fmt.Appendf(nil, "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oL]]></FromUserName>"+
			"<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>",
			at.Unix(), content, id)
	}
	optIn := msg("订阅", t0.Add(5*time.Second), 900002)
	optOut := msg("退订", t0, 900001) // sent first, its first delivery lost
	if r, err := f.phone.Post(f.ctx, optIn); err != nil || r.Status != 200 {
		t.Fatal(r, err)
	}
	if r, err := f.phone.Post(f.ctx, optOut); err != nil || r.Status != 200 {
		t.Fatal(r, err)
	}
	if p := f.profile(t, "oL"); p.OptedOut {
		t.Errorf("a late retry of an older 退订 opted the user out")
	}
	f.clock.Add(2 * time.Minute)
	f.text(t, "oL", "退订")
	if p := f.profile(t, "oL"); !p.OptedOut {
		t.Errorf("a new 退订 did not opt out")
	}
}

func TestForgedSignatureRecordsNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	body := []byte("<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oF]]></FromUserName><CreateTime>1795000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>")
	for _, ph := range []*wechattest.Phone{f.phone, f.safe} {
		r, err := ph.Post(f.ctx, body, wechattest.BadSignature())
		if err == nil && r.Status != http.StatusForbidden {
			t.Errorf("forged post: status %d, want 403", r.Status)
		}
	}
	if _, _, err := f.store.Get(f.ctx, "default", "oF"); err != profile.ErrNotFound {
		t.Errorf("forged subscribe stored a profile (err=%v)", err)
	}
}

func TestMalformedXMLIsRejected(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, body := range []string{"<xml><FromUserName>", "not xml", "<xml><ToUserName>a</ToUserName></xml>", "<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><MsgId>nan</MsgId></xml>"} {
		r, err := f.phone.Post(f.ctx, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusBadRequest {
			t.Errorf("Post(%q): status %d, want 400", body, r.Status)
		}
	}
}

func TestSafeModeRoundTrip(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.clock.Add(time.Second)
	r, err := f.safe.Event(f.ctx, "oS", "subscribe", "", nil) // verifies and decrypts the reply
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || !strings.Contains(r.Raw, "<Encrypt>") || !strings.Contains(r.Content, "欢迎") {
		t.Errorf("safe-mode subscribe: status %d, raw %.80q, content %q", r.Status, r.Raw, r.Content)
	}
	f.clock.Add(time.Second)
	r, err = f.safe.Text(f.ctx, "oS", "农民")
	if err != nil || !strings.Contains(r.Content, "镇街") {
		t.Errorf("safe-mode text: %q, %v", r.Content, err)
	}
}

func TestLocationSetsTown(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oG", "subscribe", "", nil)
	f.text(t, "oG", "农民")
	tax, _ := taxonomy.Default()
	pt, _ := tax.Town("paitan")
	r := f.event(t, "oG", "LOCATION", "", map[string]string{
		"Latitude": fmt.Sprint(pt.Lat + 0.01), "Longitude": fmt.Sprint(pt.Lon - 0.01), "Precision": "30"})
	wantContains(t, r, "派潭镇", "关心什么")
	if p := f.profile(t, "oG"); p.Town != "paitan" {
		t.Errorf("town after LOCATION = %q, want paitan", p.Town)
	}
	// Far outside the district: ignored.
	f.event(t, "oG", "LOCATION", "", map[string]string{"Latitude": "39.9", "Longitude": "116.4", "Precision": "30"})
	if p := f.profile(t, "oG"); p.Town != "paitan" {
		t.Errorf("a location in Beijing changed the town to %q", p.Town)
	}
}

func TestSettingsOptOutAndErase(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oE", "subscribe", "", nil)
	f.text(t, "oE", "2")
	f.text(t, "oE", "派潭")
	f.text(t, "oE", "荔枝")
	wantContains(t, f.text(t, "oE", "我的"), "派潭镇", "荔枝", "删除我的数据")
	wantContains(t, f.text(t, "oE", "改镇街"), "哪个镇街")
	wantContains(t, f.text(t, "oE", "正果"), "已修改", "正果")
	wantContains(t, f.text(t, "oE", "退订"), "停止")
	if p := f.profile(t, "oE"); !p.OptedOut || p.Town != "zhengguo" {
		t.Errorf("after 退订: %+v", p)
	}
	wantContains(t, f.text(t, "oE", "订阅"), "恢复")
	wantContains(t, f.text(t, "oE", "帮助"), "退订")
	wantContains(t, f.text(t, "oE", "删除我的数据"), "确认删除")
	wantContains(t, f.text(t, "oE", "算了"), "没有删除")
	f.text(t, "oE", "删除我的数据")
	wantContains(t, f.text(t, "oE", "确认删除"), "已删除")
	if _, _, err := f.store.Get(f.ctx, "default", "oE"); err != profile.ErrNotFound {
		t.Errorf("profile after erase: err = %v, want ErrNotFound", err)
	}
	c, err := f.store.Count(f.ctx, "default", profile.Term(profile.TownIndex("zhengguo")), nil, nil)
	if err != nil || c.Total != 0 {
		t.Errorf("erased subscriber still counted in town index: %d %v", c.Total, err)
	}
}

func TestErasedSubscriberIsNotProfiledAgainUntilTheyStart(t *testing.T) {
	t.Parallel()
	f := setup(t)
	gone := func(openID string) {
		t.Helper()
		if _, _, err := f.store.Get(f.ctx, "default", openID); err != profile.ErrNotFound {
			t.Errorf("profile of %s: err = %v, want ErrNotFound", openID, err)
		}
	}
	f.event(t, "oR", "subscribe", "", nil)
	f.text(t, "oR", "农民")
	f.text(t, "oR", "删除我的数据")
	f.text(t, "oR", "确认删除")
	for _, msg := range []string{"我的", "订阅", "荔枝"} {
		wantContains(t, f.text(t, "oR", msg), "已经删除", "开始")
		gone("oR")
	}
	if r := f.event(t, "oR", "LOCATION", "", map[string]string{"Latitude": "23.6", "Longitude": "113.8", "Precision": "30"}); r.Content != "" {
		t.Errorf("LOCATION after erase answered %q, want nothing", r.Content)
	}
	gone("oR")
	wantContains(t, f.text(t, "oR", "开始"), "哪类人")
	if p := f.profile(t, "oR"); !p.Subscribed || p.OptedOut {
		t.Errorf("after 开始: %+v, want subscribed", p)
	}
	// Once started again, a later erasure and a follow create it again too.
	f.text(t, "oR", "删除我的数据")
	f.text(t, "oR", "确认删除")
	wantContains(t, f.text(t, "oR", "我的"), "开始")
	gone("oR")
	wantContains(t, f.event(t, "oR", "subscribe", "", nil), "欢迎")
	f.profile(t, "oR")
	wantContains(t, f.text(t, "oR", "我的"), "您的资料")

	// An admin's erasure (the API) leaves the same marker.
	f.event(t, "oA", "subscribe", "", nil)
	if err := f.store.Update(f.ctx, "default", "oA", func(*profile.Profile) (*profile.Profile, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	wantContains(t, f.text(t, "oA", "我的"), "开始")
	gone("oA")
	// Erasing someone who unfollowed (the retention job) leaves no marker:
	// following again profiles them anew anyway.
	f.event(t, "oU", "subscribe", "", nil)
	f.event(t, "oU", "unsubscribe", "", nil)
	if err := f.store.Update(f.ctx, "default", "oU", func(*profile.Profile) (*profile.Profile, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if n, err := f.rdb.Keys(f.ctx, "*gone:"+profile.Pseudonym("oU")).Result(); err != nil || len(n) != 0 {
		t.Errorf("erasing an unfollowed subscriber left %v (%v)", n, err)
	}
	// Someone kepubot never saw (a follower from before) is still welcome.
	wantContains(t, f.text(t, "oN", "我的"), "您的资料")
	f.profile(t, "oN")
}

func TestHelpListsEveryCommand(t *testing.T) {
	t.Parallel()
	f := setup(t)
	wantContains(t, f.text(t, "oH", "帮助"), "答题", "排行", "报名", "取消报名", "我的活动", "退订", "删除我的数据")
}

func TestOnboardingUnderstandsPhrasesAndSkips(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for i, phrase := range []string{"种荔枝的", "我是养鱼的", "家里种菜"} {
		o := fmt.Sprintf("oPhrase%d", i) // openids are ASCII (profile.ValidOpenID)
		f.event(t, o, "subscribe", "", nil)
		wantContains(t, f.text(t, o, phrase), "哪个镇街")
		if p := f.profile(t, o); p.Group != "farmer" {
			t.Errorf("%q: group %q, want farmer", phrase, p.Group)
		}
	}
	// Skipping every question: a confirmation without empty lines in it.
	f.event(t, "oS", "subscribe", "", nil)
	f.text(t, "oS", "跳过")
	f.text(t, "oS", "跳过")
	r := f.text(t, "oS", "跳过")
	wantContains(t, r, "设置好了", "没有填写")
	if strings.Contains(r.Content, "\n\n\n") || strings.HasPrefix(strings.SplitN(r.Content, "\n", 2)[1], "\n") {
		t.Errorf("confirmation after skipping everything has an empty line: %q", r.Content)
	}
}

func TestUnsubscribeKeepsProfileUnreachable(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oX", "subscribe", "", nil)
	f.text(t, "oX", "农民")
	r := f.event(t, "oX", "unsubscribe", "", nil)
	if r.MsgType != "" {
		t.Errorf("unsubscribe got a reply: %+v", r)
	}
	p := f.profile(t, "oX")
	if p.Subscribed || p.Group != "farmer" {
		t.Errorf("after unsubscribe: %+v", p)
	}
	c, _ := f.store.Count(f.ctx, "default", profile.And(profile.Term(profile.GroupIndex("farmer")), profile.Reachable()), nil, nil)
	if c.Total != 0 {
		t.Errorf("unsubscribed farmer is reachable: %d", c.Total)
	}
	// Someone kepubot never saw leaving: nothing stored.
	f.event(t, "oNever", "unsubscribe", "", nil)
	if _, _, err := f.store.Get(f.ctx, "default", "oNever"); err != profile.ErrNotFound {
		t.Errorf("unsubscribe of an unknown openid stored a profile")
	}
}

func TestUnknownTextGetsHelp(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oH", "subscribe", "", nil)
	f.text(t, "oH", "跳过")
	f.text(t, "oH", "跳过")
	f.text(t, "oH", "跳过")
	wantContains(t, f.text(t, "oH", "zzqqxx"), "没找到", "帮助")
	// A menu click acts as the command in its key.
	wantContains(t, f.event(t, "oH", "CLICK", "我的", nil), "您的资料")
}

func TestAccountsAreSeparate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oA", "subscribe", "", nil)
	r, err := http.Post(strings.Replace(f.url, "/wechat", "/wechat/nosuch", 1), "text/xml", strings.NewReader("<xml/>"))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown account: status %d, want 404", r.StatusCode)
	}
	if _, _, err := f.store.Get(f.ctx, "other", "oA"); err != profile.ErrNotFound {
		t.Errorf("profile visible from another account")
	}
}

func TestConcurrentMessagesOfOneSubscriber(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oC", "subscribe", "", nil)
	f.text(t, "oC", "跳过")
	f.text(t, "oC", "跳过")
	f.text(t, "oC", "跳过")
	// Racing edits of different fields must all land (no lost update).
	var wg sync.WaitGroup
	for _, cmd := range []string{"改身份", "改兴趣", "我的", "帮助", "订阅"} {
		wg.Go(func() {
			if _, err := f.phone.Text(f.ctx, "oC", cmd); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	p := f.profile(t, "oC")
	if p.Step != profile.StepGroup && p.Step != profile.StepInterests {
		t.Errorf("step after racing edits = %d", p.Step)
	}
}

func TestTopicOptOutInChat(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oT", "subscribe", "", nil)
	f.text(t, "oT", "农民")
	f.text(t, "oT", "派潭")
	f.text(t, "oT", "荔枝 气象")
	wantContains(t, f.text(t, "oT", "不看 荔枝"), "不再给您推送：荔枝")
	if p := f.profile(t, "oT"); !p.OptedOutOf("litchi") || p.HasInterest("litchi") || !p.HasInterest("weather") {
		t.Errorf("after 不看 荔枝: %+v", p.Interests)
	}
	wantContains(t, f.text(t, "oT", "我的"), "不看：荔枝", "关注：气象")
	wantContains(t, f.text(t, "oT", "不看"), "例如")
}

// TestSameSecondEventsOfDifferentSubscribers: WeChat stamps events with
// whole seconds; two people following in the same second are two events,
// not a retry (they share a shard often).
func TestSameSecondEventsOfDifferentSubscribers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for i := range 100 { // the fake clock does not move: one second for all
		r, err := f.phone.Event(f.ctx, fmt.Sprintf("oSame%03d", i), "subscribe", "", nil)
		if err != nil || r.Status != 200 {
			t.Fatal(r, err)
		}
	}
	c, err := f.store.Count(f.ctx, "default", profile.Term(profile.IndexAll), nil, nil)
	if err != nil || c.Total != 100 {
		t.Errorf("profiles after 100 follows in one second = %d, want 100 (%v)", c.Total, err)
	}
}

func TestVoiceIsHandledAsTyped(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oV", "subscribe", "", nil)
	voice := func(recognition string) wechattest.Reply {
		t.Helper()
		f.clock.Add(time.Second)
		r, err := f.phone.Voice(f.ctx, "oV", recognition)
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("Voice(%q) = %d, %v", recognition, r.Status, err)
		}
		return r
	}
	// Onboarding answers spoken.
	wantContains(t, voice("我是农民。"), "镇街")
	wantContains(t, voice("派潭"), "关心什么")
	if p := f.profile(t, "oV"); p.Group != "farmer" || p.Town != "paitan" {
		t.Errorf("after spoken answers: group %q town %q, want farmer, paitan", p.Group, p.Town)
	}
	// A spoken command is the typed command.
	wantContains(t, voice("帮助"), "答题", "报名")
	// Speech WeChat could not recognise: a kind answer saying how to type.
	r := voice("")
	wantContains(t, r, "没听清", "打字")
}

func TestElderMode(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.event(t, "oOld", "subscribe", "", nil)
	f.text(t, "oOld", "长辈模式")
	// While an onboarding question waits, a digit is its answer.
	f.text(t, "oOld", "2")
	if p := f.profile(t, "oOld"); p.Group != "farmer" {
		t.Fatalf("digit 2 to the group question in elder mode: group %q, want farmer", p.Group)
	}
	f.text(t, "oOld", "跳过")
	f.text(t, "oOld", "跳过")
	if p := f.profile(t, "oOld"); !p.Elder {
		t.Fatal("长辈模式 did not set elder mode")
	}
	wantContains(t, f.text(t, "oOld", "帮助"), "请回复数字", "1 天气防灾", "0 关闭长辈模式")
	// A menu digit is its command.
	wantContains(t, f.text(t, "oOld", "6"), "您的资料")
	wantContains(t, f.text(t, "oOld", "０"), "已关闭长辈模式")
	if p := f.profile(t, "oOld"); p.Elder {
		t.Fatal("关闭长辈模式 (digit 0) left elder mode on")
	}
	// Off again, a digit is no command.
	if r := f.text(t, "oOld", "6"); strings.Contains(r.Content, "您的资料") {
		t.Errorf("digit 6 outside elder mode showed the profile: %q", r.Content)
	}
	wantContains(t, f.text(t, "oOld", "帮助"), "长辈模式")
}
