// Package console is kepubot's web console for the science association's
// organizers, editors and reviewers, served at /console/: server-rendered
// Chinese pages (html/template, plain CSS, no JavaScript yet), with
// everything embedded so the console loads nothing from the network.
//
// Logins use the admin API's users and roles (bot/admin) with a console
// password per user (bcrypt). Sessions live in Redis behind an HttpOnly,
// SameSite=Strict cookie; every state-changing request carries the
// session's CSRF token; failed logins are rate-limited per name and per
// client IP. The Redis keys are built in keys.go.
package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content/audio"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names. The session cookie is scoped to /console/.
const (
	sessionCookie = "kb_console"
	loginCookie   = "kb_console_login" // the login form's CSRF token (double submit)
)

// maxForm bounds a form body.
const maxForm = 64 << 10

// maxUpload bounds an upload form: a recording the admin API would take
// (audio.MaxBytes) and the form's other fields.
const maxUpload = audio.MaxBytes + maxForm

// Config is what the console needs; Redis, Users, Profiles, Tax and
// Campaigns are required.
type Config struct {
	Redis     redis.UniversalClient
	Users     *admin.Users
	Profiles  *profile.Store
	Tax       *taxonomy.Taxonomy
	Campaigns *campaign.Store
	// Engine, when set, adds sent and click counts to recent campaigns.
	Engine *campaign.Engine
	// API is the admin API (bot/admin.Server with its routes). The pages
	// that read or change content, audiences, campaigns, jobs and events
	// call it in process as the logged-in user (api.go); without it those
	// pages answer an error.
	API http.Handler
	// Accounts are the WeChat accounts the console may work on (ids, the
	// default first; required). A user works on those it has a role in;
	// with more than one, the header offers a choice, remembered in a
	// cookie.
	Accounts []string
	// AccountNames, when set, are what organizers call the accounts (农业局),
	// by id, for the switcher.
	AccountNames map[string]string
	// Phones, when set, adds the phone view of simulated residents (the
	// demo's); a real deployment leaves it nil.
	Phones Phones
	// Audit, when set, records every state-changing console request (the
	// admin API's audit log) and shows it to admins.
	Audit  *admin.AuditLog
	Logger *slog.Logger
	// Now is the clock (default time.Now); its location decides the
	// calendar days of "active in the last 30 days", so give it the
	// district's time zone, as the profile store has.
	Now func() time.Time
	// ClientIP returns the address failed logins are counted against
	// (default: the host of RemoteAddr). Behind a reverse proxy, read the
	// header the proxy sets; never trust one a client could send.
	ClientIP func(*http.Request) string
	// InsecureCookies drops the Secure flag from cookies, for a console
	// reached over plain HTTP other than on localhost. Leave it false in
	// production.
	InsecureCookies bool
}

// Console serves the web console.
type Console struct {
	cfg        Config
	logger     *slog.Logger
	pages      map[string]*template.Template
	mux        *http.ServeMux
	acc        *Accounts
	registered []route    // what handle registered
	accMu      sync.Mutex // guards cfg.Accounts (AddAccount)
}

// New returns a console, or an error naming the missing dependency.
func New(cfg Config) (*Console, error) {
	switch {
	case cfg.Redis == nil:
		return nil, errors.New("console: Redis is required")
	case cfg.Users == nil:
		return nil, errors.New("console: Users is required")
	case cfg.Profiles == nil:
		return nil, errors.New("console: Profiles is required")
	case cfg.Tax == nil:
		return nil, errors.New("console: Tax is required")
	case cfg.Campaigns == nil:
		return nil, errors.New("console: Campaigns is required")
	case len(cfg.Accounts) == 0:
		return nil, errors.New("console: Accounts is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteHost
	}
	c := &Console{cfg: cfg, logger: cfg.Logger.With("component", "console"),
		pages: map[string]*template.Template{}, mux: http.NewServeMux(), acc: NewAccounts(cfg.Redis, cfg.Users)}
	c.acc.now = cfg.Now
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	c.routes()
	c.warnMissingAssets()
	return c, nil
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

var roleNames = map[admin.Role]string{
	admin.RoleAdmin: "管理员", admin.RoleEditor: "编辑", admin.RoleReviewer: "审核员",
	admin.RoleOrganizer: "组织者", admin.RoleViewer: "只读",
}

func (c *Console) parseTemplates() error {
	funcs := template.FuncMap{
		"role":      func(r admin.Role) string { return roleNames[r] },
		"num":       formatNum,
		"pct":       pct,
		"time":      func(t time.Time) string { return t.In(c.cfg.Now().Location()).Format("2006-01-02 15:04") },
		"status":    func(s campaign.Status) string { return statusNames[s] },
		"cname":     func(name string) string { return campaignName(name, c.cfg.Now().Location()) },
		"audience":  func(expr string) string { return describeAudience(expr, c.cfg.Tax) },
		"reminder":  reminderText,
		"nextmonth": func(m string) string { return nextMonth(m, 1) },
		"prevmonth": func(m string) string { return nextMonth(m, -1) },
		"account":   c.accountName,
		"channel": func(ch string) string {
			if n, ok := channelNames[ch]; ok {
				return n
			}
			return ch
		},
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	for _, p := range pages {
		name := p[len("templates/"):]
		if name == "layout.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, p)
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		c.pages[name] = t
	}
	return nil
}

// Accounts returns the console's accounts (passwords and sessions).
func (c *Console) Accounts() *Accounts { return c.acc }

// SetPassword is Accounts().SetPassword.
func (c *Console) SetPassword(ctx context.Context, userID, password string) error {
	return c.acc.SetPassword(ctx, userID, password)
}

// Handler returns the console's routes, all under /console/.
func (c *Console) Handler() http.Handler { return c.mux }

func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/console/static/", http.FileServerFS(static))
	c.mux.Handle("GET /console/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))
	c.mux.HandleFunc("GET /console/login", c.loginPage)
	c.mux.HandleFunc("POST /console/login", c.loginSubmit)
	c.handle("GET /console/{$}", c.dashboard, admin.Roles()...)
	c.handle("POST /console/logout", c.logoutSubmit, admin.Roles()...)
	c.handle("POST /console/logout-all", c.logoutAllSubmit, admin.Roles()...)
	c.handleDeployment("GET /console/users", c.usersPage)
	c.handleDeployment("POST /console/users/{id}/password", c.passwordSubmit)
	if c.cfg.Audit != nil {
		c.handleDeployment("GET /console/audit", c.auditPage)
	}
	c.contentRoutes()  // items.go: content library, review queue
	c.eventRoutes()    // events.go: competitions and events
	c.audienceRoutes() // segments.go: segment builder
	c.campaignRoutes() // campaigns.go: campaign composer and results
	c.opsRoutes()      // ops.go: jobs, dead letters, demand log, exports
	c.alertRoutes()    // alerts.go: hazard alerts, approval, hold
	c.calendarRoutes() // calendar.go: the shared mass-send calendar
	c.phoneRoutes()    // phones.go: the demo's phone view
	c.mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		// A logged-in user keeps the navigation on a page that is not there.
		s, _ := c.sessionOf(r)
		c.fail(w, r, s, http.StatusNotFound, "页面不存在")
	})
}

// route is a page route and the roles it allows (admin always).
type route struct {
	Pattern string
	Roles   []admin.Role
	// Deployment pages (users, the audit log) are for deployment-wide
	// admins only.
	Deployment bool
}

// handle registers h for pattern behind page (session, role, CSRF) and
// records the route, so a test can check that every state-changing route
// refuses what it must.
func (c *Console) handle(pattern string, h pageFunc, roles ...admin.Role) {
	c.registered = append(c.registered, route{Pattern: pattern, Roles: roles})
	c.mux.Handle(pattern, c.page(h, false, maxForm, roles...))
}

// handleUpload is handle for a form that uploads a file
// (multipart/form-data, at most maxUpload bytes in all).
func (c *Console) handleUpload(pattern string, h pageFunc, roles ...admin.Role) {
	c.registered = append(c.registered, route{Pattern: pattern, Roles: roles})
	c.mux.Handle(pattern, c.page(h, false, maxUpload, roles...))
}

// handleDeployment is handle for a page of the whole deployment (users,
// the audit log): only a deployment-wide admin may open it, not an admin
// of some accounts.
func (c *Console) handleDeployment(pattern string, h pageFunc) {
	c.registered = append(c.registered, route{Pattern: pattern, Deployment: true})
	c.mux.Handle(pattern, c.page(h, true, maxForm))
}

// pageFunc handles a request of a logged-in user allowed to make it.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *Session) error

// statusError is an error shown to the user with its status.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// page wraps h: it requires a session whose role is among roles (admin is
// always allowed) and, on any method but GET and HEAD, a form whose csrf
// field matches the session's token. Refusals change nothing; every
// state-changing request is audited, allowed or not.
//
// limit bounds the request body; a route allowed more than maxForm (an
// upload) reads a multipart form, the csrf field among its parts.
func (c *Console) page(h pageFunc, deployment bool, limit int64, roles ...admin.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		safe := r.Method == http.MethodGet || r.Method == http.MethodHead
		s, err := c.sessionOf(r)
		status := http.StatusOK
		if !safe {
			defer func() { c.audit(r, s, status) }()
		}
		switch {
		case errors.Is(err, ErrNoSession) && safe:
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			status = http.StatusSeeOther
			return
		case errors.Is(err, ErrNoSession):
			status = http.StatusForbidden
			c.fail(w, r, nil, status, "请先登录")
			return
		case err != nil:
			status = http.StatusInternalServerError
			c.fail(w, r, nil, status, "")
			c.logger.Error("console session failed", "path", r.URL.Path, "err", err)
			return
		}
		if r, err = c.withAccount(w, r, s); err != nil {
			se := err.(*statusError)
			status = se.status
			c.fail(w, r, s, status, se.msg)
			return
		}
		if deployment && !s.DeploymentAdmin() {
			status = http.StatusForbidden
			c.fail(w, r, s, status, "只有全系统管理员能进行此操作")
			return
		}
		if s.Role != admin.RoleAdmin && !slicesContains(roles, s.Role) {
			status = http.StatusForbidden
			c.fail(w, r, s, status, "您的角色（"+roleNames[s.Role]+"）不能进行此操作")
			return
		}
		if !safe {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			err := r.ParseForm()
			if err == nil && limit > maxForm && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				err = r.ParseMultipartForm(limit)
			}
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				status = http.StatusRequestEntityTooLarge
				c.fail(w, r, s, status, "上传的文件太大，录音文件不能超过 2 MB")
				return
			}
			if err != nil || !equalTokens(r.PostForm.Get("csrf"), s.CSRF) {
				status = http.StatusForbidden
				c.fail(w, r, s, status, "请求已过期或来源不明，请刷新页面后重试")
				return
			}
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		err = h(rec, r, s)
		status = rec.status
		var se *statusError
		switch {
		case errors.As(err, &se):
			status = se.status
			c.fail(w, r, s, status, se.msg)
		case err != nil:
			status = http.StatusInternalServerError
			c.logger.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			c.fail(w, r, s, status, "")
		}
	})
}

func slicesContains(roles []admin.Role, r admin.Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// statusRecorder remembers the status a handler wrote, for the audit log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func equalTokens(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

func (c *Console) sessionOf(r *http.Request) (*Session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, ErrNoSession
	}
	return c.acc.session(r.Context(), ck.Value)
}

func (c *Console) audit(r *http.Request, s *Session, status int) {
	if c.cfg.Audit == nil {
		return
	}
	var p admin.Principal
	var account string
	if s != nil {
		p, account = s.Principal, s.Account
	}
	c.cfg.Audit.Audit(r.Context(), admin.AuditEntry{Principal: p, Method: r.Method, Path: r.URL.Path,
		Account: account, Status: status, Time: c.cfg.Now()})
}

// accountCookie remembers the WeChat account the console works on.
const accountCookie = "kb_console_account"

type accountKey struct{}

// withAccount decides which WeChat account a request works on: the
// account query parameter (remembered in a cookie when a page is opened
// with it), else the remembered one, else the first the user belongs to.
// It sets the session's Account and its Role to the user's role there
// (an error, shown as 403, for an account the user has no role in). The
// request it returns carries the account in its query, where handlers
// read it (admin.Account), and in its context, where call adds it to
// every API request.
func (c *Console) withAccount(w http.ResponseWriter, r *http.Request, s *Session) (*http.Request, error) {
	q := r.URL.Query()
	account := q.Get("account")
	switch {
	case account != "":
		if !slices.Contains(c.accountList(), account) {
			return r, &statusError{status: http.StatusBadRequest, msg: "没有这个公众号：" + account}
		}
		if _, ok := s.RoleIn(account); !ok {
			return r, &statusError{status: http.StatusForbidden, msg: "您不是公众号 " + account + " 的成员，不能查看或修改它"}
		}
		if r.Method == http.MethodGet {
			c.setCookie(w, accountCookie, account, 0)
		}
	default:
		mine := c.accountsOf(s)
		if len(mine) == 0 {
			return r, &statusError{status: http.StatusForbidden, msg: "您还不属于任何公众号，请联系管理员"}
		}
		account = mine[0]
		if ck, err := r.Cookie(accountCookie); err == nil && slices.Contains(mine, ck.Value) {
			account = ck.Value
		}
	}
	s.Account = account
	s.Role, _ = s.RoleIn(account)
	r = r.Clone(context.WithValue(r.Context(), accountKey{}, account))
	q.Set("account", account)
	r.URL.RawQuery = q.Encode()
	return r, nil
}

// AddAccount offers one more account (added while running), called
// name, to the users who have a role in it.
func (c *Console) AddAccount(id, name string) {
	c.accMu.Lock()
	defer c.accMu.Unlock()
	if !slices.Contains(c.cfg.Accounts, id) {
		c.cfg.Accounts = append(slices.Clip(c.cfg.Accounts), id)
	}
	if name != "" {
		names := maps.Clone(c.cfg.AccountNames)
		if names == nil {
			names = map[string]string{}
		}
		names[id] = name
		c.cfg.AccountNames = names
	}
}

// accountName is how the console names an account: its name, else
// 默认公众号 for the default one, else 公众号 and its id.
func (c *Console) accountName(id string) string {
	c.accMu.Lock()
	name, first := c.cfg.AccountNames[id], c.cfg.Accounts[0]
	c.accMu.Unlock()
	switch {
	case name != "":
		return name
	case id == first:
		return "默认公众号"
	}
	return "公众号 " + id
}

// accountList is the accounts the console works on, the default first.
func (c *Console) accountList() []string {
	c.accMu.Lock()
	defer c.accMu.Unlock()
	return c.cfg.Accounts
}

// accountsOf lists the configured accounts s's user has a role in.
func (c *Console) accountsOf(s *Session) []string {
	var out []string
	for _, id := range c.accountList() {
		if _, ok := s.RoleIn(id); ok {
			out = append(out, id)
		}
	}
	return out
}

// option is one choice of a picker (a checkbox or select option).
type option struct {
	ID, Name string
	Checked  bool
}

// view is what every page template gets.
type view struct {
	Title   string
	Session *Session
	Error   string
	Data    any
	Phones  bool // the phone view exists (set by render)
	// Accounts to choose from (set by render when there are several).
	Accounts []string
}

func (c *Console) render(w http.ResponseWriter, status int, page string, v view) {
	t, ok := c.pages[page]
	if !ok {
		c.logger.Error("console template missing", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v.Phones = c.cfg.Phones != nil
	if v.Session != nil {
		if mine := c.accountsOf(v.Session); len(mine) > 1 {
			v.Accounts = mine
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout.html", v); err != nil {
		c.logger.Error("console render failed", "page", page, "err", err)
	}
}

// fail renders an error page; msg "" is a plain internal error.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *Session, status int, msg string) {
	if msg == "" {
		msg = "服务器内部错误，请稍后重试"
	}
	setSecurityHeaders(w)
	c.render(w, status, "error.html", view{Title: strconv.Itoa(status), Session: s, Error: msg})
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console/", MaxAge: maxAge,
		HttpOnly: true, Secure: !c.cfg.InsecureCookies, SameSite: http.SameSiteStrictMode})
}
