package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/console"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/bot/quiz"
	"github.com/zengcheng-kexie/kepubot/bot/redisconn"
	"github.com/zengcheng-kexie/kepubot/bot/signup"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/demand"
	"github.com/zengcheng-kexie/kepubot/content/importer"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/alerts"
	"github.com/zengcheng-kexie/kepubot/scheduler/calendar"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
)

// App is the whole kepubot service wired together: Redis, the webhook,
// the admin API and (as they land) the scheduler and delivery workers. An
// end-to-end test starts one on 127.0.0.1:0.
type App struct {
	cfg    *Config
	logger *slog.Logger
	now    func() time.Time
	limits notify.Limits

	mini     *miniredis.Miniredis // embedded Redis when no URL is set
	rdb      redis.UniversalClient
	redisMon *redisconn.Monitor // kepubot_redis_* metrics
	reg      *prometheus.Registry
	tax      *taxonomy.Taxonomy
	profiles *profile.Store
	scenes   *qrcode.Store
	// mu guards what an account added while running changes: wechat,
	// extra and delivery.queues.
	mu       sync.RWMutex
	wechat   map[string]*wechat.Client // by account id; empty without secrets
	extra    []*AccountConfig          // accounts added through the API, after the configured ones
	stored   *admin.AccountStore       // where those are kept, for every replica
	bg       context.Context           // background work's context, once started
	bgWG     sync.WaitGroup            // background work started for added accounts
	content  *content.Store
	search   *bot.ContentSearch
	bot      *bot.Bot
	webhook  *bot.Webhook
	admin    *admin.Server
	delivery *delivery
	console  *console.Console
	quiz     *quiz.Quiz
	signups  *signup.Service
	// calendar is the shared mass-send calendar: bookings, budgets, and
	// what the campaign engine's mass sends may use.
	calendar *calendar.Service
	// alerts takes hazard alerts in; alertPoller polls their feeds.
	alerts      *alerts.Service
	alertPoller *alerts.Poller

	ln     net.Listener
	srv    *http.Server
	stop   context.CancelFunc // ends background work
	bgDone chan struct{}
}

// profileCacheSize is how many recently active subscribers each replica
// keeps in memory (~150 bytes each) to answer a conversation's next
// message in one Redis round trip.
const profileCacheSize = 100_000

// AppOptions are what tests and the demo inject.
type AppOptions struct {
	Now func() time.Time
	// Phones adds the console's phone view of simulated residents (the demo).
	Phones console.Phones
	// Observe sees every inbound message handled and its reply (the demo).
	Observe func(msg *bot.Message, reply bot.Reply)
	// Limits replaces WeChat's call rates in the notifier (zero fields:
	// notify.DefaultLimits); `kepubot bench` lifts them to measure
	// kepubot rather than the rate limiter.
	Limits notify.Limits
}

// NewApp connects to Redis and builds every component; it starts nothing.
func NewApp(ctx context.Context, cfg *Config, logger *slog.Logger, opts AppOptions) (*App, error) {
	a := &App{cfg: cfg, logger: logger, now: opts.Now, limits: opts.Limits, reg: prometheus.NewRegistry(), wechat: map[string]*wechat.Client{}}
	if a.now == nil {
		a.now = time.Now
	}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.connectRedis(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.build(ctx, opts); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) connectRedis(ctx context.Context) error {
	url := a.cfg.Redis.URL
	switch {
	case url == "":
		mr, err := miniredis.Run()
		if err != nil {
			return fmt.Errorf("start embedded redis: %w", err)
		}
		a.mini = mr
		a.logger.Warn("KEPUBOT_REDIS_URL is empty: using an embedded in-memory Redis; NOTHING IS KEPT when kepubot stops. Set KEPUBOT_REDIS_URL for production.")
		a.rdb = redis.NewClient(&redis.Options{Addr: mr.Addr()})
	default:
		// One server, or a Cluster (a comma-separated node list) with the
		// failover options redisconn documents.
		rdb, err := redisconn.Open(url)
		if err != nil {
			return fmt.Errorf("config: redis.url (KEPUBOT_REDIS_URL): %w", err)
		}
		a.rdb = rdb
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.rdb.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("cannot reach Redis at %s (redis.url, KEPUBOT_REDIS_URL): is it running? %w", redisconn.Describe(a.rdb), err)
	}
	a.redisMon = redisconn.NewMonitor(a.rdb, a.reg, a.logger, time.Second)
	return nil
}

func (a *App) build(ctx context.Context, opts AppOptions) error {
	var err error
	if a.tax, err = taxonomy.Default(); err != nil {
		return err
	}
	if a.profiles, err = profile.NewStore(ctx, a.rdb, a.cfg.loc); err != nil {
		return err
	}
	if err := a.profiles.EnableCache(profileCacheSize); err != nil {
		return err
	}
	a.scenes = qrcode.NewStore(a.rdb)

	var accounts []bot.Account
	for _, ac := range a.cfg.allAccounts() {
		if ac.APIBase != a.cfg.WeChat.APIBase {
			return fmt.Errorf("config: accounts %q: api_base must equal wechat.api_base (the SDK's API base is process-wide)", ac.ID)
		}
		accounts = append(accounts, bot.Account{ID: ac.ID, AppID: ac.AppID, AppSecret: ac.AppSecret, Token: ac.Token, EncodingAESKey: ac.AESKey, EncodingMode: ac.EncodingMode})
		if ac.AppSecret == "" {
			a.logger.Warn("no app secret: WeChat API calls (pushes, QR codes, menu) are off for this account", "account", ac.ID)
			continue
		}
		if len(a.wechat) == 0 {
			// Process-wide in the SDK: set once, by the first account that calls WeChat.
			if err := wechat.SetAPIBase(a.cfg.WeChat.APIBase); err != nil {
				return fmt.Errorf("config: wechat.api_base (KEPUBOT_WECHAT_API_BASE): %w", err)
			}
		}
		c, err := a.newWeChatClient(ac)
		if err != nil {
			return err
		}
		a.wechat[ac.ID] = c
	}

	a.content = content.NewStore(a.rdb, a.now)
	a.search = bot.NewContentSearch(nil, demand.New(a.rdb, a.cfg.loc), a.logger)
	if err := a.buildDelivery(ctx); err != nil {
		return err
	}
	if a.cfg.PublicURL != "" {
		a.search.SetLinks(a.delivery.engine.SearchURL) // opening a result teaches, as a click does
	}
	if a.quiz, err = quiz.New(quiz.Config{Redis: a.rdb, Content: a.content, Taxonomy: a.tax, Location: a.cfg.loc, Logger: a.logger}); err != nil {
		return err
	}
	a.signups, err = signup.New(signup.Config{
		Redis: a.rdb, Events: a.content, Profiles: a.profiles, Scenes: a.scenes, Tax: a.tax,
		Queue:    a.queueOf,
		Notifier: a.delivery.notifier,
		Rules:    a.rules, Template: a.cfg.Delivery.NoticeTemplate,
		Campaigns: a.delivery.campaigns, Engine: a.delivery.engine,
		Loc: a.cfg.loc, Now: a.now, Logger: a.logger,
	})
	if err != nil {
		return err
	}
	a.bot = bot.New(a.tax, bot.Options{
		Scenes: a.scenes, Search: a.search,
		Routes:  []func(*bot.Mux){a.quiz.Routes, a.signups.Routes},
		Erasers: []bot.Eraser{a.quiz, a.signups},
		CheckIn: a.signups.CheckIn,
	})
	a.webhook, err = bot.NewWebhook(a.profiles, a.bot, accounts, bot.WebhookOptions{
		Logger: a.logger, Metrics: bot.NewMetrics(a.reg), Now: a.now, Reports: reports{a.delivery.campaigns},
		Observe: opts.Observe, RedisUp: a.redisMon.Up,
	})
	if err != nil {
		return err
	}

	users := admin.NewUsers(a.rdb)
	auditLog := admin.NewAuditLog(a.rdb, a.logger)
	a.admin = admin.NewServer(admin.BootstrapAdmin(a.cfg.Admin.Token, users), a.logger)
	if t := a.cfg.Admin.Token; t != "" && len(t) < minAdminToken {
		a.logger.Warn("the admin token is short: production refuses fewer than 16 characters", "length", len(t))
	}
	clientIP := admin.ClientIP(a.cfg.proxies)
	a.admin.ThrottleTokens(admin.NewThrottle(a.rdb, nil), clientIP)
	a.admin.SetAccounts(a.accountIDs())
	a.admin.SetClock(a.now)
	admin.RegisterUsers(a.admin, users)
	a.stored = admin.NewAccountStore(a.rdb)
	admin.RegisterAccounts(a.admin, admin.AccountDeps{List: a.listAccounts, Add: a.addAccountAPI})
	admin.RegisterAudit(a.admin, auditLog)
	admin.RegisterContent(a.admin, admin.ContentDeps{Store: a.content, Vocab: importer.Vocabulary(a.tax),
		CheckAudience: func(expr string) error { _, err := segment.Parse(expr, a.tax); return err },
		Signups:       a.signups})
	admin.RegisterSegments(a.admin, admin.SegmentDeps{Profiles: a.profiles, Tax: a.tax,
		Segments: segment.NewStore(a.rdb, a.tax), Now: a.now, Loc: a.cfg.loc})
	admin.RegisterSubscribers(a.admin, a.profiles, a.quiz, a.signups)
	admin.RegisterQRCodes(a.admin, admin.QRCodeDeps{Scenes: a.scenes, Tax: a.tax, WeChat: a.wechatClient, Now: a.now})
	a.registerDelivery()
	admin.RegisterQuiz(a.admin, admin.QuizDeps{Quiz: a.quiz.Store(), Content: a.content,
		Campaigns: a.delivery.engine, Tax: a.tax, Now: a.now})
	admin.RegisterSignups(a.admin, admin.SignupDeps{Signups: a.signups, Events: a.content, WeChat: a.wechatClient})
	admin.RegisterDemand(a.admin, admin.DemandDeps{Log: demand.New(a.rdb, a.cfg.loc), Tax: a.tax, Now: a.now})
	if err := a.buildAlerts(); err != nil {
		return err
	}
	a.console, err = console.New(console.Config{
		Redis: a.rdb, Users: users, Profiles: a.profiles, Tax: a.tax,
		Campaigns: a.delivery.campaigns, Engine: a.delivery.engine, Audit: auditLog, Logger: a.logger,
		API: a.admin, Phones: opts.Phones, Accounts: a.accountIDs(), AccountNames: a.accountNames(),
		Now:      func() time.Time { return a.now().In(a.cfg.loc) },
		ClientIP: clientIP,
		// Cookies are Secure; plain HTTP works on localhost only.
	})
	if err != nil {
		return err
	}
	if a.mini != nil {
		// Zero-setup mode: start with the sample library.
		return a.importSamples(ctx)
	}
	return nil
}

// wechatClient returns the API client of an account.
func (a *App) wechatClient(account string) (admin.QRCreator, error) {
	c, ok := a.wechatOf(account)
	if !ok {
		if _, known := a.accountConfig(account); !known {
			return nil, fmt.Errorf("%w: account %q", admin.ErrNotFound, account)
		}
		return nil, fmt.Errorf("%w: WeChat API is not configured for account %q (no app secret)", admin.ErrUnavailable, account)
	}
	return c, nil
}

// accountIDs lists the accounts' ids, the default first.
func (a *App) accountIDs() []string {
	var ids []string
	for _, ac := range a.accounts() {
		ids = append(ids, ac.ID)
	}
	return ids
}

// listAccounts describes the accounts, the default first.
func (a *App) listAccounts(context.Context) ([]admin.AccountInfo, error) {
	var out []admin.AccountInfo
	for i, ac := range a.accounts() {
		out = append(out, a.accountInfo(ac, i == 0))
	}
	return out, nil
}

// accountNames maps the accounts that have a name to it.
func (a *App) accountNames() map[string]string {
	names := map[string]string{}
	for _, ac := range a.accounts() {
		if ac.Name != "" {
			names[ac.ID] = ac.Name
		}
	}
	return names
}

// servesAccount reports whether id is one of the configured accounts.
func (a *App) servesAccount(id string) bool {
	_, ok := a.accountConfig(id)
	return ok
}

// Handler returns the service's HTTP routes.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	if a.cfg.has(RoleWeb) {
		mux.Handle("/wechat", a.webhook)
		mux.Handle("/wechat/{account}", a.webhook)
		mux.Handle("/api/", a.admin)
		mux.Handle("/console/", a.console.Handler())
		mux.HandleFunc("GET /r/{token}", a.redirect)
	}
	// Every replica answers its health and metrics, whatever its roles.
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	return mux
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if !a.redisMon.Check(ctx) {
		admin.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "redis": "unreachable"})
		return
	}
	admin.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "redis": "ok"})
}

// Start listens on the configured address and serves in the background.
func (a *App) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.HTTP.Addr, err)
	}
	a.ln = ln
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	a.srv = srv
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stop, a.bgDone = stop, make(chan struct{})
	go func() {
		defer close(a.bgDone)
		a.background(bg)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("http server stopped", "err", err)
		}
	}()
	a.logger.Info("kepubot listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the address the app listens on, once started.
func (a *App) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Close shuts down in order: stop taking requests (draining those in
// flight), then close Redis. It is safe to call twice and before Start.
func (a *App) Close() error {
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		a.srv.Shutdown(ctx)
		// Then record what was answered before its activity was (read-only
		// answers, bot.recorder), while Redis is still open.
		if a.webhook != nil {
			a.webhook.Close(ctx)
		}
		cancel()
		a.srv = nil
	}
	if a.stop != nil {
		// Workers stop taking jobs and drain in-flight ones (with the
		// queue's deadline); unfinished jobs go to another replica.
		a.stop()
		<-a.bgDone
		a.stop = nil
	}
	if a.rdb != nil {
		a.rdb.Close()
		a.rdb = nil
	}
	if a.mini != nil {
		a.mini.Close()
		a.mini = nil
	}
	return nil
}

// newWeChatClient makes the WeChat API client of an account (one with an
// app secret), at start and for accounts added while running.
func (a *App) newWeChatClient(ac *AccountConfig) (*wechat.Client, error) {
	typ := wechat.ServiceAccount
	if ac.Type == "subscription" {
		typ = wechat.SubscriptionAccount
	}
	c, err := wechat.New(wechat.Config{AccountID: ac.ID, AppID: ac.AppID, AppSecret: ac.AppSecret,
		Token: ac.Token, EncodingAESKey: ac.AESKey, Type: typ}, a.rdb, a.reg, a.logger)
	if err != nil {
		return nil, fmt.Errorf("wechat account %s: %w", ac.ID, err)
	}
	return c, nil
}
