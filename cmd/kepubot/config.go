package main

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// Config is kepubot's whole configuration: defaults, then a YAML file
// (--config or KEPUBOT_CONFIG; configs/kepubot.example.yaml documents every
// key), then KEPUBOT_* environment variables. The environment names listed
// in envKeys are a contract: tests outside this repo set them.
type Config struct {
	HTTP struct {
		Addr string `yaml:"addr"`
		// TrustedProxies are the reverse proxies (IPs or CIDR prefixes)
		// whose X-Forwarded-For names the client, for login and token
		// throttling per address.
		TrustedProxies []string `yaml:"trusted_proxies"`
	} `yaml:"http"`
	// Roles are what this replica does (see roles.go); default all.
	Roles     []string `yaml:"roles"`
	PublicURL string   `yaml:"public_url"`
	Timezone  string   `yaml:"timezone"`
	Redis     struct {
		// URL is a redis:// or unix:// URL; several comma-separated
		// addresses mean a Redis Cluster; empty runs an embedded Redis.
		URL string `yaml:"url"`
	} `yaml:"redis"`
	Admin struct {
		Token string `yaml:"token"`
	} `yaml:"admin"`
	Delivery struct {
		// QuietHours holds pushes, e.g. "21:30-07:30", or "off".
		QuietHours string `yaml:"quiet_hours"`
		PerDay     int    `yaml:"per_day"`  // pushes a subscriber gets a day at most (0 or 1)
		PerWeek    int    `yaml:"per_week"` // and a week
		Workers    int    `yaml:"workers"`  // delivery jobs run at once by this replica
		// NoticeTemplate is the template id for service notices (event
		// reminders); empty sends them like content.
		NoticeTemplate string `yaml:"notice_template"`
	} `yaml:"delivery"`
	Privacy struct {
		// KeepUnsubscribedDays is how long the profile of someone who
		// unfollowed is kept (for statistics, never pushed to) before the
		// nightly retention job erases it.
		KeepUnsubscribedDays int `yaml:"keep_unsubscribed_days"`
	} `yaml:"privacy"`
	// Feeds are remote content feeds pulled every 30 minutes (YAML or JSON
	// in the import format); their items enter as drafts unless trusted.
	Feeds []struct {
		Name    string `yaml:"name"`
		URL     string `yaml:"url"`
		Trusted bool   `yaml:"trusted"`
		// Account is the account whose library the feed fills (empty:
		// the default account, wechat.id).
		Account string `yaml:"account"`
	} `yaml:"feeds"`
	// Alerts are the hazard-warning (CAP 1.2) feeds polled for alerts.
	Alerts struct {
		Feeds []AlertFeedConfig `yaml:"feeds"`
	} `yaml:"alerts"`
	WeChat   AccountConfig   `yaml:"wechat"`
	Accounts []AccountConfig `yaml:"accounts"`
	Log      struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`

	loc     *time.Location
	proxies []netip.Prefix
}

// AlertFeedConfig is one CAP feed (a CAP alert, or an Atom or RSS index of
// alerts) polled every interval (default 2m). AutoSend (default true)
// sends each new alert at once; false holds it for an organizer's
// approval. Account (default: the first configured account) receives its
// alerts.
type AlertFeedConfig struct {
	URL      string `yaml:"url"`
	Interval string `yaml:"interval"`
	AutoSend *bool  `yaml:"auto_send"`
	Account  string `yaml:"account"`

	every time.Duration
}

// AccountConfig configures one Official Account. The default account
// (key `wechat`) is served at /wechat; further ones at /wechat/{id}.
type AccountConfig struct {
	ID string `yaml:"id"`
	// Name is what organizers call the account (科协, 农业局), as GET
	// /api/v1/accounts shows it.
	Name      string `yaml:"name"`
	AppID     string `yaml:"app_id"`
	AppSecret string `yaml:"app_secret"`
	Token     string `yaml:"token"`
	AESKey    string `yaml:"aes_key"`
	// EncodingMode is plain, compat or safe (bot.Account.EncodingMode);
	// empty: compat with an aes_key, plain without.
	EncodingMode string       `yaml:"encoding_mode"`
	APIBase      string       `yaml:"api_base"`
	Type         string       `yaml:"type"` // service or subscription
	Menu         []MenuButton `yaml:"menu"`
}

// MenuButton is one custom-menu button; a click sends Key to the bot as
// if the subscriber had typed it.
type MenuButton struct {
	Name string       `yaml:"name"`
	Key  string       `yaml:"key"`
	URL  string       `yaml:"url"`
	Sub  []MenuButton `yaml:"sub"`
}

// defaultConfig is the configuration with nothing set: an embedded Redis and
// a development WeChat identity, so `kepubot serve` runs on a fresh machine.
func defaultConfig() Config {
	var c Config
	c.HTTP.Addr = "127.0.0.1:8080"
	c.Roles = allRoles
	c.Timezone = "Asia/Shanghai"
	c.Log.Level = "info"
	c.Log.Format = "text"
	c.Delivery.QuietHours = "21:30-07:30"
	c.Privacy.KeepUnsubscribedDays = 365
	c.Delivery.PerDay, c.Delivery.PerWeek, c.Delivery.Workers = 1, 3, 8
	c.WeChat = AccountConfig{
		ID:      "default",
		AppID:   "wxkepubotdev",
		Token:   "kepubot",
		APIBase: "https://api.weixin.qq.com",
		Type:    "service",
		Menu: []MenuButton{
			{Name: "查科普", Sub: []MenuButton{{Name: "怎么用", Key: "帮助"}, {Name: "天气防灾", Key: "防灾"}, {Name: "健康安全", Key: "健康"}}},
			{Name: "我的", Key: "我的"},
		},
	}
	return c
}

// envKeys maps each KEPUBOT_* variable to the config field it overrides.
// These names are a contract: add, never rename.
var envKeys = []struct {
	name string
	set  func(c *Config, v string)
}{
	{"KEPUBOT_HTTP_ADDR", func(c *Config, v string) { c.HTTP.Addr = v }},
	{"KEPUBOT_REDIS_URL", func(c *Config, v string) { c.Redis.URL = v }},
	{"KEPUBOT_WECHAT_APP_ID", func(c *Config, v string) { c.WeChat.AppID = v }},
	{"KEPUBOT_WECHAT_APP_SECRET", func(c *Config, v string) { c.WeChat.AppSecret = v }},
	{"KEPUBOT_WECHAT_TOKEN", func(c *Config, v string) { c.WeChat.Token = v }},
	{"KEPUBOT_WECHAT_AES_KEY", func(c *Config, v string) { c.WeChat.AESKey = v }},
	{"KEPUBOT_WECHAT_API_BASE", func(c *Config, v string) { c.WeChat.APIBase = v }},
	{"KEPUBOT_WECHAT_TYPE", func(c *Config, v string) { c.WeChat.Type = v }},
	{"KEPUBOT_ADMIN_TOKEN", func(c *Config, v string) { c.Admin.Token = v }},
	{"KEPUBOT_PUBLIC_URL", func(c *Config, v string) { c.PublicURL = v }},
	{"KEPUBOT_TIMEZONE", func(c *Config, v string) { c.Timezone = v }},
	{"KEPUBOT_LOG_LEVEL", func(c *Config, v string) { c.Log.Level = v }},
	{"KEPUBOT_LOG_FORMAT", func(c *Config, v string) { c.Log.Format = v }},
	{"KEPUBOT_QUIET_HOURS", func(c *Config, v string) { c.Delivery.QuietHours = v }},
	{"KEPUBOT_WECHAT_ENCODING_MODE", func(c *Config, v string) { c.WeChat.EncodingMode = v }},
	{"KEPUBOT_TRUSTED_PROXIES", func(c *Config, v string) { c.HTTP.TrustedProxies = strings.Split(v, ",") }},
	{"KEPUBOT_ROLES", func(c *Config, v string) { c.Roles = strings.Split(v, ",") }},
	// Comma-separated CAP feed URLs: they replace alerts.feeds, each polled
	// with the defaults (every 2m, sent automatically, default account).
	{"KEPUBOT_ALERT_FEEDS", func(c *Config, v string) {
		c.Alerts.Feeds = nil
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				c.Alerts.Feeds = append(c.Alerts.Feeds, AlertFeedConfig{URL: u})
			}
		}
	}},
}

// LoadConfig builds the configuration from defaults, the file at path (if
// not empty) and getenv, and validates it.
func LoadConfig(path string, getenv func(string) string) (*Config, error) {
	c := defaultConfig()
	if path == "" {
		path = getenv("KEPUBOT_CONFIG")
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(path, data, &c); err != nil {
			return nil, err
		}
	}
	for _, k := range envKeys {
		if v, ok := lookup(getenv, k.name); ok {
			k.set(&c, v)
		}
	}
	if c.WeChat.ID == "" {
		c.WeChat.ID = "default"
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

var (
	accountIDRE = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
	aesKeyRE    = regexp.MustCompile(`^[A-Za-z0-9]{43}$`)
)

// validate checks every value and names the bad key in its error.
func (c *Config) validate() error {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "" {
		return fmt.Errorf("config: timezone (KEPUBOT_TIMEZONE) %q is not a time zone", c.Timezone)
	}
	c.loc = loc
	if c.HTTP.Addr == "" || !strings.Contains(c.HTTP.Addr, ":") {
		return fmt.Errorf("config: http.addr (KEPUBOT_HTTP_ADDR) %q must be host:port", c.HTTP.Addr)
	}
	if c.proxies, err = admin.ParseProxies(c.HTTP.TrustedProxies); err != nil {
		return fmt.Errorf("config: http.trusted_proxies (KEPUBOT_TRUSTED_PROXIES): %w", err)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("config: public_url (KEPUBOT_PUBLIC_URL) %q must be an http(s) URL", c.PublicURL)
		}
	}
	if c.Roles, err = parseRoles(strings.Join(c.Roles, ",")); err != nil {
		return fmt.Errorf("config: roles (KEPUBOT_ROLES, kepubot serve --roles): %w", err)
	}
	if err := validRedisURL(c.Redis.URL); err != nil {
		return fmt.Errorf("config: redis.url (KEPUBOT_REDIS_URL): %w", err)
	}
	if _, err := plan.ParseQuietHours(c.Delivery.QuietHours); err != nil {
		return fmt.Errorf("config: delivery.quiet_hours (KEPUBOT_QUIET_HOURS): %w", err)
	}
	if c.Delivery.PerDay < 0 || c.Delivery.PerDay > 1 {
		return fmt.Errorf("config: delivery.per_day %d must be 0 (no cap) or 1", c.Delivery.PerDay)
	}
	if c.Delivery.PerWeek < 0 || c.Delivery.PerWeek > 7 {
		return fmt.Errorf("config: delivery.per_week %d must be 0 (no cap) to 7", c.Delivery.PerWeek)
	}
	if c.Delivery.Workers < 1 || c.Delivery.Workers > 256 {
		return fmt.Errorf("config: delivery.workers %d must be 1-256", c.Delivery.Workers)
	}
	if c.Privacy.KeepUnsubscribedDays < 1 || c.Privacy.KeepUnsubscribedDays > 3650 {
		return fmt.Errorf("config: privacy.keep_unsubscribed_days %d must be 1-3650", c.Privacy.KeepUnsubscribedDays)
	}
	for i := range c.Feeds {
		f := &c.Feeds[i]
		if u, err := url.Parse(f.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || f.Name == "" {
			return fmt.Errorf("config: feeds[%d] needs a name and an http(s) url", i)
		}
		if f.Account == "" {
			f.Account = c.WeChat.ID
		}
		if _, ok := c.account(f.Account); !ok {
			return fmt.Errorf("config: feeds[%d].account %q is not a configured account", i, f.Account)
		}
	}
	for i := range c.Alerts.Feeds {
		if err := c.Alerts.Feeds[i].validate(i); err != nil {
			return err
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log.level (KEPUBOT_LOG_LEVEL) %q must be debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("config: log.format (KEPUBOT_LOG_FORMAT) %q must be text or json", c.Log.Format)
	}
	seen := map[string]string{}
	for i, a := range c.allAccounts() {
		key := "wechat"
		if i > 0 {
			key = fmt.Sprintf("accounts[%d]", i-1)
		}
		if err := a.validate(key, i == 0); err != nil {
			return err
		}
		if err := a.unique(key, seen); err != nil {
			return err
		}
	}
	for i := range c.Alerts.Feeds {
		f := &c.Alerts.Feeds[i]
		if f.Account == "" {
			f.Account = c.WeChat.ID // the first configured account
		}
		if _, ok := c.account(f.Account); !ok {
			return fmt.Errorf("config: alerts.feeds[%d].account %q is not a configured account", i, f.Account)
		}
	}
	return c.validateSecrets()
}

func (f *AlertFeedConfig) validate(i int) error {
	if u, err := url.Parse(f.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("config: alerts.feeds[%d].url (KEPUBOT_ALERT_FEEDS) %q must be an http(s) URL", i, f.URL)
	}
	f.every = 2 * time.Minute
	if f.Interval != "" {
		d, err := time.ParseDuration(f.Interval)
		if err != nil || d < 10*time.Second || d > 24*time.Hour {
			return fmt.Errorf("config: alerts.feeds[%d].interval %q must be a duration from 10s to 24h, e.g. 2m", i, f.Interval)
		}
		f.every = d
	}
	if f.AutoSend == nil {
		auto := true
		f.AutoSend = &auto
	}
	return nil
}

func (a *AccountConfig) validate(key string, isDefault bool) error {
	env := func(name string) string {
		if isDefault {
			return " (KEPUBOT_WECHAT_" + name + ")"
		}
		return ""
	}
	if !accountIDRE.MatchString(a.ID) {
		return fmt.Errorf("config: %s.id %q must be 1-32 of a-z, 0-9, _ and -", key, a.ID)
	}
	if a.AppID == "" {
		return fmt.Errorf("config: %s.app_id%s is required", key, env("APP_ID"))
	}
	if a.Token == "" || len(a.Token) > 32 {
		return fmt.Errorf("config: %s.token%s must be 1-32 characters", key, env("TOKEN"))
	}
	if a.AESKey != "" && !aesKeyRE.MatchString(a.AESKey) {
		return fmt.Errorf("config: %s.aes_key%s must be 43 letters and digits (the EncodingAESKey)", key, env("AES_KEY"))
	}
	switch a.EncodingMode {
	case "", "plain", "compat":
	case "safe":
		if a.AESKey == "" {
			return fmt.Errorf("config: %s.encoding_mode%s safe needs aes_key%s", key, env("ENCODING_MODE"), env("AES_KEY"))
		}
	default:
		return fmt.Errorf("config: %s.encoding_mode%s %q must be plain, compat or safe", key, env("ENCODING_MODE"), a.EncodingMode)
	}
	if a.APIBase == "" {
		a.APIBase = "https://api.weixin.qq.com"
	}
	if u, err := url.Parse(a.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("config: %s.api_base%s %q must be an http(s) URL", key, env("API_BASE"), a.APIBase)
	}
	switch a.Type {
	case "", "service", "subscription":
	default:
		return fmt.Errorf("config: %s.type%s %q must be service or subscription", key, env("TYPE"), a.Type)
	}
	if len(a.Menu) > 3 {
		return fmt.Errorf("config: %s.menu has %d buttons, WeChat allows 3", key, len(a.Menu))
	}
	for i, b := range a.Menu {
		if b.Name == "" {
			return fmt.Errorf("config: %s.menu[%d].name is required", key, i)
		}
		if len(b.Sub) > 5 {
			return fmt.Errorf("config: %s.menu[%d].sub has %d buttons, WeChat allows 5", key, i, len(b.Sub))
		}
		if len(b.Sub) == 0 && b.Key == "" && b.URL == "" {
			return fmt.Errorf("config: %s.menu[%d] needs a key, a url or sub buttons", key, i)
		}
	}
	return nil
}

// unique checks a's id, AppID, token and AES key against those of the
// accounts before it (seen, which it adds to): two accounts sharing one
// would receive or sign each other's messages.
func (a *AccountConfig) unique(key string, seen map[string]string) error {
	for _, f := range []struct{ field, value string }{
		{"id", a.ID}, {"app_id", a.AppID}, {"token", a.Token}, {"aes_key", a.AESKey},
	} {
		if f.value == "" {
			continue
		}
		if other, ok := seen[f.field+"\x00"+f.value]; ok {
			return fmt.Errorf("config: %s.%s is the same as %s's: every account needs its own", key, f.field, other)
		}
		seen[f.field+"\x00"+f.value] = key
	}
	return nil
}

// allAccounts is the default account followed by the others.
func (c *Config) allAccounts() []*AccountConfig {
	out := []*AccountConfig{&c.WeChat}
	for i := range c.Accounts {
		out = append(out, &c.Accounts[i])
	}
	return out
}

// account returns the configuration of account id.
func (c *Config) account(id string) (*AccountConfig, bool) {
	for _, ac := range c.allAccounts() {
		if ac.ID == id {
			return ac, true
		}
	}
	return nil, false
}

func validRedisURL(s string) error {
	if s == "" {
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if !strings.Contains(part, "://") {
			part = "redis://" + part
		}
		u, err := url.Parse(part)
		if err != nil {
			return fmt.Errorf("%q is not a URL", part)
		}
		switch u.Scheme {
		case "redis", "rediss":
			if u.Host == "" {
				return fmt.Errorf("%q has no host", part)
			}
		case "unix":
			if strings.Contains(s, ",") {
				return errors.New("a cluster cannot use unix sockets")
			}
		default:
			return fmt.Errorf("%q: scheme must be redis, rediss or unix", part)
		}
	}
	return nil
}
