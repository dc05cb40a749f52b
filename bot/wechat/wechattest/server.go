// Package wechattest is a fake WeChat Official Account platform for tests.
//
// Server is an httptest.Server that speaks the api.weixin.qq.com JSON API
// and enforces WeChat's real rules (token lifetimes and quotas, the
// customer-service windows, template and mass-send deduplication, the
// monthly mass-send budget, tag and menu limits). State is kept per appid,
// as on the real platform, so tests that share one Server isolate themselves
// by using distinct AppIDs. Time comes from an injectable clock.
//
// Phone drives the other direction: it posts signed (and, in safe mode,
// encrypted) XML to a webhook the way WeChat does, and parses the reply.
//
// Where WeChat's documentation is silent about an error code the fake picks
// the most plausible one and says so in a comment marked "unsure".
package wechattest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// shanghai is WeChat's time zone: daily and monthly quotas roll over at
// midnight Beijing time. A fixed zone avoids depending on tzdata.
var shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// AccountType is the kind of Official Account.
type AccountType int

const (
	// ServiceAccount may mass-send 4 messages per user per month.
	ServiceAccount AccountType = iota
	// SubscriptionAccount may mass-send once a day.
	SubscriptionAccount
)

// Account is one Official Account registered with the fake.
type Account struct {
	AppID          string
	Secret         string
	Type           AccountType
	Token          string // webhook token, used to sign inbound messages
	EncodingAESKey string // 43 characters; used by Phone in safe mode
	// OriginalID is the gh_ id that appears as ToUserName; defaults to
	// "gh_" + AppID.
	OriginalID string
}

// Options configure a Server.
type Options struct {
	// Now is the fake's clock; defaults to time.Now.
	Now func() time.Time
	// Seed seeds the fake's randomness (tokens, tickets, fault rates).
	Seed int64
}

// Call is one recorded API request.
type Call struct {
	Time    time.Time
	AppID   string
	Path    string
	ErrCode int
	Body    []byte
}

// Message is one message delivered to a user by an outbound API.
type Message struct {
	Channel string // "custom", "template", "subscribe" or "mass"
	Kind    string // msgtype, or the template id for template and subscribe
	Content string // text content, news title, media id or template data JSON
	MsgID   int64  // msgid of template and mass messages; 0 otherwise
	// URL is the link a customer-service news article leads to ("" for
	// other messages): what a resident taps.
	URL  string
	Time time.Time
}

// Server is a fake api.weixin.qq.com. All methods are safe for concurrent use.
type Server struct {
	now  func() time.Time
	http *httptest.Server
	hook *http.Client
	wg   sync.WaitGroup // webhook deliveries in flight

	mu      sync.Mutex
	rnd     *rand.Rand
	seq     int64
	apps    map[string]*app
	tokens  map[string]*token // token value → token
	tickets map[string]string // QR ticket → scene
	calls   []Call
	faults  []*faultState
}

// app is the per-appid state, guarded by Server.mu.
type app struct {
	acct       Account
	fetches    int
	normal     *token // current /cgi-bin/token token
	stable     *token // current /cgi-bin/stable_token token
	counters   map[string]int
	users      map[string]*user
	order      []string // followers in follow order
	tags       map[int]*tag
	nextTagID  int
	menu       json.RawMessage
	massDedup  map[string]massDedup
	massJobs   map[int64]*MassJob
	webhook    string
	permQR     int
	tplDedup   map[string]int64
	delivered  map[string][]Message
	deliveries int
	chat       map[string][]ChatLine // what Phones sent and were answered, by openid (chat.go)
	media      map[string]media      // temporary media by media_id (media.go)
}

type user struct {
	openID    string
	following bool
	msgWin    window // opened by a message from the user: 48 h, 5 messages
	evtWin    window // opened by follow, menu click, QR scan: 1 min, 3 messages
	optIns    map[string]int
	tags      []int
	massMonth map[string]int // "2006-01" → mass messages received
}

type window struct {
	until time.Time
	left  int
}

// New starts a fake WeChat server. Close it when done.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		now:     opts.Now,
		rnd:     rand.New(rand.NewSource(opts.Seed)),
		apps:    map[string]*app{},
		tokens:  map[string]*token{},
		tickets: map[string]string{},
		hook:    &http.Client{Timeout: 5 * time.Second},
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the API base, to be used in place of https://api.weixin.qq.com.
func (s *Server) URL() string { return s.http.URL }

// Close waits for webhook deliveries and shuts the server down.
func (s *Server) Close() {
	s.wg.Wait()
	s.http.Close()
}

// AddAccount registers an account. Adding an existing AppID replaces its
// credentials and keeps its state.
func (s *Server) AddAccount(a Account) {
	if a.OriginalID == "" {
		a.OriginalID = "gh_" + a.AppID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.apps[a.AppID]; ok {
		old.acct = a
		return
	}
	s.apps[a.AppID] = &app{
		acct:      a,
		counters:  map[string]int{},
		users:     map[string]*user{},
		tags:      map[int]*tag{},
		nextTagID: 100, // WeChat numbers custom tags from 100; 0, 1 and 2 are reserved
		massDedup: map[string]massDedup{},
		massJobs:  map[int64]*MassJob{},
		tplDedup:  map[string]int64{},
		delivered: map[string][]Message{},
	}
}

// Calls returns every API request so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Delivered returns the messages delivered to openid, in order.
func (s *Server) Delivered(appID, openID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mustApp(appID).delivered[openID])
}

// DeliveredCount is the number of messages delivered by appID to anyone.
func (s *Server) DeliveredCount(appID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustApp(appID).deliveries
}

// mustApp returns the app; an unknown appid in a test helper is a bug in
// the test, so it panics. Callers hold s.mu.
func (s *Server) mustApp(appID string) *app {
	a, ok := s.apps[appID]
	if !ok {
		panic(fmt.Sprintf("wechattest: unknown appid %q: call AddAccount first", appID))
	}
	return a
}

func (a *app) deliver(openID string, m Message) {
	a.delivered[openID] = append(a.delivered[openID], m)
	a.deliveries++
}

// nextID returns a fresh positive number. Callers hold s.mu.
func (s *Server) nextID() int64 {
	s.seq++
	return 1_000_000_000 + s.seq
}

// randHex returns n random hex characters. Callers hold s.mu.
func (s *Server) randHex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[s.rnd.Intn(len(digits))]
	}
	return string(b)
}

// request is one API call being served.
type request struct {
	r     *http.Request
	body  []byte
	appID string
	app   *app // set for calls authenticated with an access_token
	now   time.Time
}

// decode parses the JSON body into v.
func (q *request) decode(v any) error {
	if len(bytes.TrimSpace(q.body)) == 0 {
		return errEmptyBody
	}
	return json.Unmarshal(q.body, v)
}

var errEmptyBody = fmt.Errorf("empty body")

// result is an endpoint's answer: the errcode it carries and the JSON body.
type result struct {
	code int
	body any
}

func fail(code int, msg string) result {
	return result{code: code, body: map[string]any{"errcode": code, "errmsg": msg}}
}

// badBody answers a request whose JSON could not be parsed.
func badBody(err error) result {
	if err == errEmptyBody {
		return fail(44002, "empty post data")
	}
	return fail(47001, "data format error")
}

func okResult(body map[string]any) result {
	if body == nil {
		body = map[string]any{}
	}
	body["errcode"] = 0
	body["errmsg"] = "ok"
	return result{body: body}
}

type handler func(*Server, *request) result

// routes maps paths to handlers. auth is false for the token endpoints,
// which authenticate with appid and secret instead of an access_token.
var routes = map[string]struct {
	method string
	auth   bool
	h      handler
}{
	"/cgi-bin/token":                       {http.MethodGet, false, (*Server).handleToken},
	"/cgi-bin/stable_token":                {http.MethodPost, false, (*Server).handleStableToken},
	"/cgi-bin/message/custom/send":         {http.MethodPost, true, (*Server).handleCustomSend},
	"/cgi-bin/message/template/send":       {http.MethodPost, true, (*Server).handleTemplateSend},
	"/cgi-bin/message/subscribe/bizsend":   {http.MethodPost, true, (*Server).handleSubscribeSend},
	"/cgi-bin/message/mass/sendall":        {http.MethodPost, true, (*Server).handleMassSendAll},
	"/cgi-bin/message/mass/send":           {http.MethodPost, true, (*Server).handleMassSend},
	"/cgi-bin/tags/create":                 {http.MethodPost, true, (*Server).handleTagCreate},
	"/cgi-bin/tags/get":                    {http.MethodGet, true, (*Server).handleTagGet},
	"/cgi-bin/tags/update":                 {http.MethodPost, true, (*Server).handleTagUpdate},
	"/cgi-bin/tags/delete":                 {http.MethodPost, true, (*Server).handleTagDelete},
	"/cgi-bin/tags/members/batchtagging":   {http.MethodPost, true, (*Server).handleBatchTag},
	"/cgi-bin/tags/members/batchuntagging": {http.MethodPost, true, (*Server).handleBatchUntag},
	"/cgi-bin/tags/getidlist":              {http.MethodPost, true, (*Server).handleTagIDList},
	"/cgi-bin/user/get":                    {http.MethodGet, true, (*Server).handleUserGet},
	"/cgi-bin/qrcode/create":               {http.MethodPost, true, (*Server).handleQRCreate},
	"/cgi-bin/menu/create":                 {http.MethodPost, true, (*Server).handleMenuCreate},
	"/cgi-bin/menu/get":                    {http.MethodGet, true, (*Server).handleMenuGet},
	"/cgi-bin/menu/delete":                 {http.MethodGet, true, (*Server).handleMenuDelete},
	"/cgi-bin/media/upload":                {http.MethodPost, true, (*Server).handleMediaUpload},
	"/cgi-bin/clear_quota":                 {http.MethodPost, true, (*Server).handleClearQuota},
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	route, ok := routes[r.URL.Path]
	if !ok {
		writeJSON(w, fail(40066, "invalid url").body)
		return
	}
	q := &request{r: r, body: body}
	q.appID = s.appIDOf(q)

	if f, ok := s.matchFault(q); ok {
		if f.Latency > 0 {
			t := time.NewTimer(f.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.ErrCode != 0 {
			res := fail(f.ErrCode, "injected fault")
			s.record(q, res)
			writeJSON(w, res.body)
			return
		}
	}

	s.mu.Lock()
	q.now = s.now()
	var res result
	switch {
	case r.Method != route.method:
		// WeChat answers a wrong method with 43001/43002.
		if route.method == http.MethodGet {
			res = fail(43001, "require GET method")
		} else {
			res = fail(43002, "require POST method")
		}
	case route.auth:
		a, code, msg := s.authenticate(r.URL.Query().Get("access_token"), q.now)
		if code != 0 {
			res = fail(code, msg)
			break
		}
		q.app = a
		res = route.h(s, q)
	default:
		res = route.h(s, q)
	}
	s.calls = append(s.calls, Call{Time: q.now, AppID: q.appID, Path: r.URL.Path, ErrCode: res.code, Body: body})
	s.mu.Unlock()
	writeJSON(w, res.body)
}

// record logs a call answered outside the main path (faults).
func (s *Server) record(q *request, res result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Time: s.now(), AppID: q.appID, Path: q.r.URL.Path, ErrCode: res.code, Body: q.body})
}

// appIDOf finds the appid a request is about, for records and faults.
func (s *Server) appIDOf(q *request) string {
	v := q.r.URL.Query()
	if id := v.Get("appid"); id != "" {
		return id
	}
	if q.r.URL.Path == "/cgi-bin/stable_token" {
		var b struct {
			AppID string `json:"appid"`
		}
		_ = json.Unmarshal(q.body, &b)
		return b.AppID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[v.Get("access_token")]; ok {
		return t.appID
	}
	return ""
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// quota counts one call against a limit of n per period and reports whether
// the call is allowed. period is "day" (Beijing date, reset by clear_quota),
// "min" or "month". Callers hold s.mu.
func (a *app) quota(api, period string, n int, now time.Time) bool {
	var k string
	switch period {
	case "day":
		k = "day|" + api + "|" + now.In(shanghai).Format("2006-01-02")
	case "month":
		k = "month|" + api + "|" + now.In(shanghai).Format("2006-01")
	default:
		k = "min|" + api + "|" + now.Truncate(time.Minute).Format(time.RFC3339)
	}
	if a.counters[k] >= n {
		return false
	}
	a.counters[k]++
	return true
}

// user returns the user, or nil when the account has never seen openid.
func (a *app) user(openID string) *user { return a.users[openID] }

func (a *app) ensureUser(openID string) *user {
	u, ok := a.users[openID]
	if !ok {
		u = &user{openID: openID, optIns: map[string]int{}, massMonth: map[string]int{}}
		a.users[openID] = u
	}
	return u
}

// isBlank reports whether s is empty after trimming spaces.
func isBlank(s string) bool { return strings.TrimSpace(s) == "" }
