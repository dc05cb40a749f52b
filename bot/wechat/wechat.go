// Package wechat is kepubot's one client for the WeChat Official Account
// API.
//
// It wraps github.com/silenceper/wechat/v2 with what the service needs and
// the SDK lacks: one access token shared by every replica through Redis,
// a single refresh when WeChat says the token is invalid, context-first
// methods, typed errors with a classification callers can branch on,
// validation of WeChat's limits before a call is spent, and Prometheus
// metrics. Calls the SDK cannot make well (mass sends with clientmsgid) are
// posted directly through the same token and API base.
//
// The API base and HTTP client are process-wide (SetAPIBase,
// SetHTTPClient), because the SDK keeps them in globals.
//
// Most SDK calls take no context: ctx is checked before each call and the
// HTTP client's timeout bounds the call. The calls this package posts
// itself (mass sends, tag listing) honor ctx fully.
package wechat

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/basic"
	"github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/menu"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/officialaccount/user"
	"github.com/silenceper/wechat/v2/util"
	"github.com/sirupsen/logrus"
)

// defaultBase is the prefix of every URL the SDK calls.
const defaultBase = "https://api.weixin.qq.com"

// AccountType is the kind of Official Account; it decides the mass-send
// budget (4 a month per user for a service account, 1 a day for a
// subscription account).
type AccountType int

const (
	// ServiceAccount is a 服务号.
	ServiceAccount AccountType = iota
	// SubscriptionAccount is a 订阅号.
	SubscriptionAccount
)

// Config identifies one Official Account.
type Config struct {
	AccountID      string // our name for the account, for logs
	AppID          string
	AppSecret      string
	Token          string // webhook token
	EncodingAESKey string // webhook safe-mode key
	Type           AccountType
}

// Client calls the WeChat API for one account. It is safe for concurrent use.
type Client struct {
	cfg     Config
	oa      *officialaccount.OfficialAccount
	cache   *redisCache
	rdb     redis.UniversalClient
	log     *slog.Logger
	metrics *metrics

	// Managers are built once here: the SDK builds them lazily, unlocked.
	basic    *basic.Basic
	menu     *menu.Menu
	custom   *message.Manager
	template *message.Template
	sub      *message.Subscribe
	user     *user.User
}

var (
	apiBase   atomic.Pointer[string]
	setupOnce sync.Once
	clientSet atomic.Bool
)

// installGlobals installs the URI modifier and, unless SetHTTPClient was called, a
// default HTTP client with timeouts. It also keeps the SDK's logrus from
// logging request XML (with openids) at debug level.
func installGlobals() {
	setupOnce.Do(func() {
		util.SetURIModifier(rewriteURI)
		if !clientSet.Load() {
			util.DefaultHTTPClient = defaultHTTPClient()
		}
		logrus.SetLevel(logrus.WarnLevel)
	})
}

// defaultHTTPClient has timeouts and keeps enough idle connections for a
// campaign's concurrent sends: Go's default keeps 2 per host, so every
// further concurrent send would dial WeChat anew.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 256
	return &http.Client{Timeout: 10 * time.Second, Transport: t}
}

func rewriteURI(uri string) string {
	base := apiBase.Load()
	if base == nil || !strings.HasPrefix(uri, defaultBase) {
		return uri
	}
	return *base + strings.TrimPrefix(uri, defaultBase)
}

// SetAPIBase sends every WeChat API call of the process, token fetches
// included, to base instead of https://api.weixin.qq.com (a forward proxy
// in production, a fake in tests). It is process-wide; "" restores the
// default.
func SetAPIBase(base string) error {
	if base == "" {
		apiBase.Store(nil)
		installGlobals()
		return nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("wechat api base %q: want an http(s) URL", base)
	}
	b := strings.TrimSuffix(base, "/")
	apiBase.Store(&b)
	installGlobals()
	return nil
}

// SetHTTPClient sets the HTTP client of every WeChat API call of the
// process. It is process-wide and must be called at start-up, before any
// Client makes a call. The default has a 10-second timeout.
func SetHTTPClient(c *http.Client) {
	clientSet.Store(true)
	util.DefaultHTTPClient = c
	installGlobals()
}

// New returns a client for the account. rdb holds the shared access token;
// reg may be nil.
func New(cfg Config, rdb redis.UniversalClient, reg prometheus.Registerer, logger *slog.Logger) (*Client, error) {
	if cfg.AppID == "" || cfg.AppSecret == "" {
		return nil, errors.New("wechat: config needs AppID and AppSecret")
	}
	if rdb == nil {
		return nil, errors.New("wechat: nil redis client")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	installGlobals()
	cache := &redisCache{rdb: rdb, timeout: 2 * time.Second}
	oa := officialaccount.NewOfficialAccount(&config.Config{
		AppID:          cfg.AppID,
		AppSecret:      cfg.AppSecret,
		Token:          cfg.Token,
		EncodingAESKey: cfg.EncodingAESKey,
		Cache:          cache,
		UseStableAK:    true,
	})
	return &Client{
		cfg:      cfg,
		oa:       oa,
		cache:    cache,
		rdb:      rdb,
		log:      logger.With("component", "wechat", "account", cfg.AccountID),
		metrics:  m,
		basic:    oa.GetBasic(),
		menu:     oa.GetMenu(),
		custom:   oa.GetCustomerMessageManager(),
		template: oa.GetTemplate(),
		sub:      oa.GetSubscribe(),
		user:     oa.GetUser(),
	}, nil
}

// Config returns the account's configuration.
func (c *Client) Config() Config { return c.cfg }

// OfficialAccount returns the underlying SDK account, for the webhook
// server (GetServer). Its managers are shared with this client.
func (c *Client) OfficialAccount() *officialaccount.OfficialAccount { return c.oa }

// tokenKey is the SDK's cache key of the stable access token, see
// credential.StableAccessToken.GetAccessTokenContext.
func tokenKey(appID string) string {
	return fmt.Sprintf("%s_stable_access_token_%s", credential.CacheKeyOfficialAccountPrefix, appID)
}
