package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/console"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/bot/quiz"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// The demo runs the whole system on one machine with no accounts: the
// embedded Redis, the sample library, and a simulated WeChat (the fake
// API that enforces WeChat's real rules, in process) whose simulated
// residents follow, onboard, search and receive pushes through the real
// webhook and the real delivery engine, over a week fast-forwarded on an
// injected clock. Nothing differs from `serve` but where the clock and
// WeChat come from.

// persona is one simulated resident.
type persona struct {
	Name    string // for the demo's summary only; kepubot never learns it
	OpenID  string
	Group   string // what they answer when asked
	Town    string
	Likes   string
	Search  string // a search they try
	QRScene string // follows through a QR code instead of answering
	Elder   bool   // turns on 长辈模式: short texts and voice
}

var personas = []persona{
	{Name: "陈伯（派潭荔枝果农）", Group: "农民", Town: "派潭", Likes: "荔枝 气象", Search: "荔枝 施肥"},
	{Name: "李姐（正果菜农）", Group: "农民", Town: "正果", Likes: "蔬菜 食品安全", Search: "迟菜心"},
	{Name: "黄叔（小楼养鱼户）", Group: "农民", Town: "小楼", Likes: "水产 气象", Search: "鱼塘浮头"},
	{Name: "何婶（派潭培训班学员）", QRScene: "training", Search: "荔枝蒂蛀虫"},
	{Name: "小周（荔城中学生）", Group: "学生", Town: "荔城", Likes: "科学教育 科技", Search: "小实验"},
	{Name: "小林（增江小学生家长）", Group: "学生", Town: "增江", Likes: "科学教育 安全", Search: "防溺水"},
	{Name: "王奶奶（新塘退休居民）", Group: "社区居民", Town: "新塘", Likes: "健康 安全", Search: "保健品骗局", Elder: true},
	{Name: "赵大爷（朱村居民）", Group: "社区居民", Town: "朱村", Likes: "健康", Search: "中暑", Elder: true},
	{Name: "刘科长（区机关公务员）", Group: "机关干部", Town: "荔城", Likes: "科技 创新", Search: "人工智能"},
	{Name: "阿强（新塘进城务工）", Group: "务工人员", Town: "新塘", Likes: "安全 健康", Search: "电动车充电"},
	{Name: "阿芳（石滩工厂女工）", Group: "务工人员", Town: "石滩", Likes: "心理健康 健康", Search: "失眠"},
	{Name: "老郑（中新养猪户）", Group: "农民", Town: "中新", Likes: "畜牧", Search: "非洲猪瘟"},
	{Name: "苏老师（永宁社区志愿者）", Group: "社区居民", Town: "永宁", Likes: "防灾 环保", Search: "台风"},
	{Name: "小吴（仙村返乡创业青年）", Group: "务工人员", Town: "仙村", Likes: "创新 农业", Search: "电商"},
	{Name: "邓伯（宁西稻农）", Group: "农民", Town: "宁西", Likes: "水稻 气象", Search: "丝苗米"},
}

// simClock is the demo's clock: it moves only when the demo moves it.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *simClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	days := fs.Int("days", 7, "simulated days (1-31)")
	keep := fs.Bool("keep-running", false, "keep the service up after the week (admin API on the printed address)")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return errUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "kepubot demo: unexpected %q (options: --days N, --keep-running)\n", strings.Join(rest, " "))
		return errUsage
	}
	if *days < 1 || *days > 31 {
		fmt.Fprintf(stderr, "kepubot demo: --days %d: the demo simulates 1 to 31 days (default 7)\n", *days)
		return errUsage
	}
	d, err := runDemo(ctx, *days, stdout)
	if d != nil {
		defer d.close()
	}
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(stdout, "\ndemo stopped") // Ctrl-C: not a failure
		return nil
	}
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintf(stdout, "\nservice still running at %s (Ctrl-C to stop)\n", d.base)
		<-ctx.Done()
	}
	return nil
}

// demoRun is a demo that has run its simulated days and is still up.
type demoRun struct {
	app        *App
	wx         *wechattest.Server
	acct       wechattest.Account
	clock      *simClock
	chats      *chatResidents
	phones     demoPhones // what the console's 居民手机 shows
	base       string
	adminToken string
}

func (d *demoRun) close() {
	d.app.Close()
	d.wx.Close()
}

// runDemo starts the demo's service and simulates days days. What it
// returns stays up until close (also after an error, when not nil).
func runDemo(ctx context.Context, days int, stdout io.Writer) (*demoRun, error) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, err
	}
	// Monday of Science and Technology Week, 2027, 07:00.
	clock := &simClock{t: time.Date(2027, 5, 17, 7, 0, 0, 0, loc)}
	wx := wechattest.New(wechattest.Options{Now: clock.Now, Seed: 1})
	acct := wechattest.Account{AppID: "wxkepubotdemo", Secret: randomHex(16), Token: "kepubotdemo"}
	wx.AddAccount(acct)
	adminToken := randomHex(16)
	cfg, err := simulatedConfig(wx, acct, adminToken)
	if err != nil {
		wx.Close()
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	chats := &chatResidents{}
	var app *App
	erased := func(openID string) bool { // 居民手机 shows who erased their data
		_, _, err := app.profiles.Get(context.Background(), cfg.WeChat.ID, openID)
		return errors.Is(err, profile.ErrNotFound)
	}
	phones := demoPhones{wx: wx, appID: acct.AppID, chats: chats, erased: erased}
	app, err = NewApp(ctx, cfg, logger, AppOptions{Now: clock.Now, Phones: phones,
		Observe: chats.observer(wx, acct.AppID, clock.Now)})
	if err != nil {
		wx.Close()
		return nil, err
	}
	d := &demoRun{app: app, wx: wx, acct: acct, clock: clock, chats: chats, phones: phones, adminToken: adminToken}
	if err := app.Start(ctx); err != nil {
		return d, err
	}
	base := "http://" + app.Addr()
	d.base = base
	phone := wechattest.NewPhone(wx, acct, base+"/wechat", false)
	say := func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }

	say("kepubot 演示 / demo — simulated WeChat, embedded Redis, %d personas, %d days", len(personas), days)
	say("service: %s   admin token: %s", base, adminToken)
	if err := app.bootstrapConsole(ctx, stdout); err != nil {
		return d, err
	}
	// A QR channel, as the science association would print for a training day.
	if err := app.scenes.Save(ctx, app.cfg.WeChat.ID, qrcode.Scene{Scene: "training", Group: "farmer", Town: "paitan",
		Interests: []string{"litchi", "agriculture"}, Source: "training-2027", CreatedAt: clock.Now()}); err != nil {
		return d, err
	}
	chat := func(p *persona, text string) string {
		clock.Set(clock.Now().Add(20 * time.Second))
		r, err := phone.Text(ctx, p.OpenID, text)
		if err != nil {
			return "(error: " + err.Error() + ")"
		}
		return r.Content
	}
	// The chat search index builds in the background (the word segmenter
	// takes a few seconds to load); residents search once it is ready.
	for deadline := time.Now().Add(30 * time.Second); !app.search.Ready(cfg.WeChat.ID) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	say("\n[1/3] residents follow the account and answer three questions")
	for i := range personas {
		p := &personas[i]
		p.OpenID = fmt.Sprintf("oDemo%022d", i)
		clock.Set(clock.Now().Add(time.Minute))
		key := ""
		if p.QRScene != "" {
			key = "qrscene_" + p.QRScene
		}
		if _, err := phone.Event(ctx, p.OpenID, "subscribe", key, nil); err != nil {
			return d, err
		}
		if p.QRScene == "" {
			chat(p, p.Group)
			chat(p, p.Town)
			chat(p, p.Likes)
		}
		reply := chat(p, p.Search)
		say("  %-22s 搜“%s” → %s", p.Name, p.Search, firstLine(reply))
		if p.Elder {
			say("  %-22s “长辈模式” → %s", p.Name, firstLine(chat(p, "长辈模式")))
		}
	}
	// The editors record the published tips: elder-mode residents hear them.
	n, err := demoRecordings(ctx, app, base, adminToken)
	if err != nil {
		return d, err
	}
	say("  editors uploaded a voice recording to %d published items (POST /api/v1/items/{id}/audio)", n)
	// Science and Technology Week: a quick quiz for everyone (sample
	// competition KJZKS), and the main event on Saturday (sample event
	// KJZ2027) to sign up for.
	compID, err := app.content.ByCode(ctx, app.cfg.WeChat.ID, "KJZKS")
	if err != nil {
		return d, fmt.Errorf("sample competition KJZKS: %w", err)
	}
	evID, err := app.content.ByCode(ctx, app.cfg.WeChat.ID, "KJZ2027")
	if err != nil {
		return d, fmt.Errorf("sample event KJZ2027: %w", err)
	}
	ev, err := app.content.Event(ctx, app.cfg.WeChat.ID, evID)
	if err != nil {
		return d, err
	}

	say("\n[2/3] the scheduler's daily personalized tip (08:00) on each of %d days, fast-forwarded", days)
	say("  %s", capsNote(cfg.Delivery.PerDay, cfg.Delivery.PerWeek, days))
	for n := range days {
		day := time.Date(2027, 5, 17+n, 8, 0, 0, 0, loc)
		clock.Set(day)
		// The scheduler's daily-tip job fires at 08:00 (on the simulated
		// clock) and starts a personalized campaign, as in production.
		c, err := scheduledCampaign(ctx, app, "daily-tip", day, time.Minute)
		if err != nil {
			return d, err
		}
		st, err := waitCampaign(ctx, app, c, time.Minute)
		if err != nil {
			return d, err
		}
		say("  %s %s %s: sent %d (customer-service %d, mass %d), skipped %d %v", day.Format("01-02 Mon"), c.ID, "每日科普",
			st.Sent, st.ByChannel["custom"], st.ByChannel["mass"], st.Skipped, compactReasons(st.Reasons))
		// 09:00: reminders due this morning go out.
		clock.Set(day.Add(time.Hour))
		settle(wx, acct.AppID)
		// Some residents chat at noon: their 48-hour window opens.
		clock.Set(day.Add(4 * time.Hour))
		for i := range personas {
			if (i+n)%4 == 0 {
				chat(&personas[i], "我的")
			}
		}
		switch n {
		case 0: // the quiz
			for i := 0; i < len(personas); i += 2 {
				p := &personas[i]
				chat(p, "答题 KJZKS")
				for q := range 5 {
					chat(p, []string{"A", "B", "C", "A", "B"}[(i+q)%5])
				}
			}
			board, _ := app.quiz.Store().Leaderboard(ctx, app.cfg.WeChat.ID, compID, quiz.Board{}, 3)
			for _, e := range board {
				say("      quiz rank %d: %s — %d correct in %.0fs", e.Rank, personaName(e.OpenID), e.Score, e.Seconds)
			}
		case 1: // sign-ups for Saturday's main event
			n := 0
			for i := 1; i < len(personas); i += 3 {
				say("      %s: 报名 %s → %s", personas[i].Name, ev.Code, firstLine(chat(&personas[i], "报名 "+ev.Code)))
				n++
			}
		}
		if days > 5 && n == 5 { // Saturday 09:00: the event; signed-up residents scan the check-in code
			clock.Set(ev.StartsAt.Add(10 * time.Minute))
			sc, err := app.signups.CheckInScene(ctx, app.cfg.WeChat.ID, ev)
			if err != nil {
				return d, err
			}
			for i := 1; i < len(personas); i += 3 {
				clock.Set(clock.Now().Add(time.Minute))
				r, err := phone.Event(ctx, personas[i].OpenID, "SCAN", sc.Scene, nil)
				if err == nil {
					say("      %s scans the check-in code → %s", personas[i].Name, firstLine(r.Content))
				}
			}
		}
		settle(wx, acct.AppID)
	}
	say("\n[3/3] what each resident received, and through which channel")
	if c := cfg.Delivery.PerWeek; c > 0 && days > c {
		say("  （每人每周最多推送 %d 条：%d 天的每日科普，每人最多收到其中 %d 条）", c, days, c)
	}
	bad := 0
	for _, call := range wx.Calls() {
		if call.AppID == acct.AppID && (call.ErrCode == 45015 || call.ErrCode == 45047) {
			bad++
		}
	}
	for _, p := range personas {
		prof, _, err := app.profiles.Get(ctx, app.cfg.WeChat.ID, p.OpenID)
		if err != nil {
			return d, err
		}
		say("  %s — %s/%s/%s", p.Name, prof.Group, prof.Town, strings.Join(prof.InterestIDs(), ","))
		for _, m := range wx.Delivered(acct.AppID, p.OpenID) {
			what := firstLine(m.Content)
			if m.Kind == "voice" {
				what = "[语音]"
			}
			say("      %s  %-6s %s", m.Time.In(loc).Format("01-02 15:04"), m.Channel, what)
		}
	}
	if bad == 0 {
		say("\nWeChat limits: no 45015 or 45047 answers — every send was planned within the windows and budgets.")
	} else {
		say("\nWeChat limits: %d calls were refused with 45015/45047.", bad)
	}
	// The organizer's turn: the clock moves on to the next Monday, 07:45
	// (after quiet hours, before the 08:00 daily tip), a new week in which
	// every resident's weekly cap has room for the campaign the README's
	// walkthrough sends.
	next := time.Date(2027, 5, 17+days, 7, 45, 0, 0, loc)
	for next.Weekday() != time.Monday {
		next = next.AddDate(0, 0, 1)
	}
	clock.Set(next)
	say("\nsimulated clock now %s: a new week, room in every resident's weekly cap for your own campaign", next.Format("2006-01-02 Mon 15:04"))
	say("chat as a resident: kepubot chat --server %s --token %s --as 小王", base, acct.Token)
	return d, nil
}

// simulatedConfig is the configuration of a kepubot that talks to the
// simulated WeChat wx as acct, on an embedded Redis and a free port (the
// demo and simulate).
func simulatedConfig(wx *wechattest.Server, acct wechattest.Account, adminToken string) (*Config, error) {
	return LoadConfig("", func(k string) string {
		switch k {
		case "KEPUBOT_HTTP_ADDR":
			return "127.0.0.1:0"
		case "KEPUBOT_WECHAT_APP_ID":
			return acct.AppID
		case "KEPUBOT_WECHAT_APP_SECRET":
			return acct.Secret
		case "KEPUBOT_WECHAT_TOKEN":
			return acct.Token
		case "KEPUBOT_WECHAT_API_BASE":
			return wx.URL()
		case "KEPUBOT_ADMIN_TOKEN":
			return adminToken
		case "KEPUBOT_PUBLIC_URL":
			return "https://kepu.example.org"
		case "KEPUBOT_REDIS_URL":
			return "" // embedded: the demo writes nothing outside memory and a temp dir
		}
		return ""
	})
}

// capsNote says in Chinese what the frequency caps allow over the demo's
// days: a daily tip runs every day, but a resident gets at most perWeek
// pushes an ISO week, so the summary shows fewer tips than days.
func capsNote(perDay, perWeek, days int) string {
	var caps []string
	if perDay > 0 {
		caps = append(caps, fmt.Sprintf("每人每天最多推送 %d 条", perDay))
	}
	if perWeek > 0 {
		caps = append(caps, fmt.Sprintf("每周最多推送 %d 条", perWeek))
	}
	if len(caps) == 0 {
		return "推送频率不设上限（配置 delivery.per_day、delivery.per_week）"
	}
	note := "推送频率上限：" + strings.Join(caps, "、") + "（配置 delivery.per_day、delivery.per_week）"
	if perWeek > 0 && days > perWeek {
		note += fmt.Sprintf("。每日科普 %d 天都发，但同一周内每人最多收到 %d 条，其余的跳过，原因为“已达推送频率上限”", days, perWeek)
	}
	return note
}

// personaName is the demo name of an openid.
func personaName(openID string) string {
	for _, p := range personas {
		if p.OpenID == openID {
			return p.Name
		}
	}
	return openID
}

// settle waits until the simulated WeChat has seen no delivery for a
// moment: reminders and notices due at the clock's new time are sent by
// the workers' next poll.
func settle(wx *wechattest.Server, appID string) {
	last, still := wx.DeliveredCount(appID), 0
	for still < 15 {
		time.Sleep(100 * time.Millisecond)
		if n := wx.DeliveredCount(appID); n != last {
			last, still = n, 0
		} else {
			still++
		}
	}
}

// scheduledCampaign waits for the campaign a scheduled job creates at or
// after since.
func scheduledCampaign(ctx context.Context, app *App, name string, since time.Time, within time.Duration) (*campaign.Campaign, error) {
	deadline := time.Now().Add(within)
	for {
		cs, err := app.delivery.campaigns.List(ctx, app.cfg.WeChat.ID, 20)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if strings.HasPrefix(c.Name, name) && !c.CreatedAt.Before(since) && c.Status != campaign.StatusCancelled {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			st, _ := app.delivery.sched.Status(ctx, name)
			return nil, fmt.Errorf("no %s campaign after %v (job: %+v)", name, since, st)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitCampaign waits for a campaign to finish (the workers run it).
func waitCampaign(ctx context.Context, app *App, c *campaign.Campaign, within time.Duration) (campaign.Stats, error) {
	deadline := time.Now().Add(within)
	for {
		cur, err := app.delivery.campaigns.Get(ctx, c.Account, c.ID)
		if err != nil {
			return campaign.Stats{}, err
		}
		if cur.Status == campaign.StatusDone || time.Now().After(deadline) {
			return app.delivery.engine.Stats(ctx, cur, nil, nil)
		}
		select {
		case <-ctx.Done():
			return campaign.Stats{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func compactReasons(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d；", console.ReasonName(strings.TrimPrefix(k, "skipped:")), m[k])
	}
	return "（" + strings.TrimSuffix(b.String(), "；") + "）"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// demoPhones is the console's phone view of the demo's residents: their
// chats as the simulated WeChat saw them.
type demoPhones struct {
	wx    *wechattest.Server
	appID string
	chats *chatResidents
	// erased reports whether a resident erased their data (删除我的数据).
	erased func(openID string) bool
}

func (d demoPhones) Personas() []console.Persona {
	out := make([]console.Persona, 0, len(personas))
	for _, p := range personas {
		profile := p.Group + " · " + p.Town + " · " + p.Likes
		if p.QRScene != "" {
			profile = "扫培训班二维码关注"
		}
		if d.erased != nil && d.erased(p.OpenID) {
			profile = "已删除自己的资料（回复“开始”可重新开始）"
		}
		out = append(out, console.Persona{ID: p.OpenID, Name: p.Name, Profile: profile})
	}
	for _, id := range d.chats.list() {
		out = append(out, console.Persona{ID: id, Name: "终端聊天的居民 " + id[len(chatOpenIDPrefix):len(chatOpenIDPrefix)+4],
			Profile: "用 kepubot chat 发消息"})
	}
	return out
}

func (d demoPhones) Chat(id string) []console.ChatLine {
	var out []console.ChatLine
	for _, l := range d.wx.Chat(d.appID, id) {
		cl := console.ChatLine{Time: l.Time, FromUser: l.FromUser, Channel: l.Channel, Text: l.Text}
		for _, a := range l.Articles {
			cl.Articles = append(cl.Articles, console.ChatArticle{Title: a.Title, Description: a.Description, URL: a.URL})
		}
		out = append(out, cl)
	}
	return out
}
