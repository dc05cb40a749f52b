package bot

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/silenceper/wechat/v2/officialaccount"
	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redisconn"
)

// Account is one Official Account the webhook serves.
type Account struct {
	ID             string // the first account given to NewWebhook is served at /wechat, all at /wechat/{id}
	AppID          string
	AppSecret      string
	Token          string
	EncodingAESKey string
	// EncodingMode is "plain" (plaintext messages only), "compat" (both)
	// or "safe" (encrypted only: a plaintext body, which the URL signature
	// does not cover, is refused). Empty: "compat" with an EncodingAESKey,
	// "plain" without.
	EncodingMode string
}

// Encoding modes of an account (Account.EncodingMode).
const (
	ModePlain  = "plain"
	ModeCompat = "compat"
	ModeSafe   = "safe"
)

// ReportSink receives WeChat's delivery reports (MASSSENDJOBFINISH,
// TEMPLATESENDJOBFINISH) and subscribe-notification opt-ins. It must be
// idempotent: WeChat retries these too.
type ReportSink interface {
	Report(ctx context.Context, msg *Message, raw *message.MixMessage) error
}

// WebhookOptions tune the webhook; the zero value is production.
type WebhookOptions struct {
	Logger  *slog.Logger
	Metrics *Metrics
	Reports ReportSink
	Now     func() time.Time // injected clock
	// Wall is the real clock (default time.Now). A signed timestamp is
	// fresh when it is near Now or Wall: the same in production, and under
	// the demo's simulated clock both its simulated phones and a real
	// `kepubot chat` are let in.
	Wall func() time.Time
	// MaxSkew is how far a request's signed timestamp may be from now
	// (default 5 minutes: WeChat retries within about 15 s; the rest is
	// clock skew). Older or newer requests are refused.
	MaxSkew time.Duration
	// ReplyTTL is how long a reply is kept for WeChat's retries. It must
	// outlive every request that MaxSkew lets in, or a replayed request
	// would be handled again: the default and the least is 2×MaxSkew + 1
	// minute.
	ReplyTTL time.Duration
	// DialogTTL is how long an open dialog waits for an answer (default 7 days).
	DialogTTL time.Duration
	// RedisUp, when set, tells whether Redis answers now (e.g. a
	// redisconn.Monitor's Up). While it says no, messages are answered
	// from memory at once (see OfflineHandler) instead of after the Redis
	// client's retries.
	RedisUp func() bool
	// Observe, when set, sees each message handled and its reply (not the
	// retries answered from the store): the demo shows conversations held
	// through `kepubot chat` on its simulated phones with it.
	Observe func(msg *Message, reply Reply)
}

// Webhook is the HTTP endpoint WeChat posts messages to.
type Webhook struct {
	store    *profile.Store
	handler  Handler
	mu       sync.RWMutex // guards accounts and first (AddAccount)
	accounts map[string]*hookAccount
	first    string // the account served at /wechat
	opts     WebhookOptions
	logger   *slog.Logger
	rec      *recorder // commits what was answered early
}

type hookAccount struct {
	Account
	oa *officialaccount.OfficialAccount
}

// Timing limits of one request.
const (
	// handleTimeout stays under WeChat's 5-second wait.
	handleTimeout = 4 * time.Second
	// claimTTL is how long an attempt owns a message; a crashed attempt's
	// claim lapses before WeChat's next retry.
	claimTTL = 4500 * time.Millisecond
	maxBody  = 256 << 10
)

// NewWebhook serves accounts, handling messages with h (usually a *Bot).
func NewWebhook(store *profile.Store, h Handler, accounts []Account, opts WebhookOptions) (*Webhook, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Wall == nil {
		opts.Wall = time.Now
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = 5 * time.Minute
	}
	opts.ReplyTTL = max(opts.ReplyTTL, 2*opts.MaxSkew+time.Minute)
	if opts.DialogTTL == 0 {
		opts.DialogTTL = 7 * 24 * time.Hour
	}
	w := &Webhook{store: store, handler: h, accounts: map[string]*hookAccount{}, opts: opts,
		logger: opts.Logger.With("component", "webhook")}
	w.rec = newRecorder(w)
	for _, a := range accounts {
		if err := w.AddAccount(a); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// AddAccount serves one more account, from now on (an account added while
// running: the others' traffic goes on).
func (w *Webhook) AddAccount(a Account) error {
	if !profile.ValidAccount(a.ID) {
		return errors.New("webhook: invalid account id " + strconv.Quote(a.ID))
	}
	if a.Token == "" {
		return errors.New("webhook: account " + a.ID + " has no token")
	}
	switch a.EncodingMode {
	case "":
		a.EncodingMode = ModePlain
		if a.EncodingAESKey != "" {
			a.EncodingMode = ModeCompat
		}
	case ModePlain, ModeCompat, ModeSafe:
	default:
		return errors.New("webhook: account " + a.ID + ": encoding mode must be plain, compat or safe")
	}
	if a.EncodingMode != ModePlain && a.EncodingAESKey == "" {
		return errors.New("webhook: account " + a.ID + ": encoding mode " + a.EncodingMode + " needs an EncodingAESKey")
	}
	oa := officialaccount.NewOfficialAccount(&oaconfig.Config{
		AppID: a.AppID, AppSecret: a.AppSecret, Token: a.Token, EncodingAESKey: a.EncodingAESKey,
		Cache: noCache{}, // the server side never fetches tokens
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, dup := w.accounts[a.ID]; dup {
		return errors.New("webhook: account " + a.ID + " is served already")
	}
	w.accounts[a.ID] = &hookAccount{Account: a, oa: oa}
	if w.first == "" {
		w.first = a.ID
	}
	return nil
}

// ServeHTTP serves /wechat (the first account) and /wechat/{account}.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := w.opts.Now()
	id := r.PathValue("account")
	w.mu.RLock()
	if id == "" {
		id = w.first
	}
	acct, ok := w.accounts[id]
	w.mu.RUnlock()
	if !ok {
		http.NotFound(rw, r)
		return
	}
	status, kind := w.serve(rw, r, acct)
	w.opts.Metrics.observe(kind, status, time.Since(start))
}

// serve handles one request and returns the status written and the kind
// of message (for metrics).
func (w *Webhook) serve(rw http.ResponseWriter, r *http.Request, acct *hookAccount) (int, string) {
	q := r.URL.Query()
	if q.Get("signature") != util.Signature(acct.Token, q.Get("timestamp"), q.Get("nonce")) {
		http.Error(rw, "bad signature", http.StatusForbidden)
		return http.StatusForbidden, "forged"
	}
	if r.Method == http.MethodGet {
		// URL verification: echo echostr, as plain text that no browser
		// renders as a page of this origin.
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Header().Set("X-Content-Type-Options", "nosniff")
		rw.Write([]byte(q.Get("echostr")))
		return http.StatusOK, "verify"
	}
	if r.Method != http.MethodPost {
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return http.StatusMethodNotAllowed, "bad"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(rw, "body too large or unreadable", http.StatusBadRequest)
		return http.StatusBadRequest, "bad"
	}
	// The URL signature covers the timestamp and nonce but not the body:
	// a request is only good near its timestamp, and its (timestamp,
	// nonce) only for the message it first carried (ClaimNonce below).
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	stale := func(now time.Time) bool { return now.Sub(time.Unix(ts, 0)).Abs() > w.opts.MaxSkew }
	if err != nil || (stale(w.opts.Now()) && stale(w.opts.Wall())) {
		http.Error(rw, "stale or missing timestamp", http.StatusForbidden)
		return http.StatusForbidden, "stale"
	}
	if !profile.ValidNonce(q.Get("nonce")) {
		http.Error(rw, "bad nonce", http.StatusForbidden)
		return http.StatusForbidden, "forged"
	}
	encrypted := q.Get("encrypt_type") == "aes"
	switch {
	case encrypted && acct.EncodingMode == ModePlain:
		http.Error(rw, "encrypted message, but the account is in plain mode", http.StatusBadRequest)
		return http.StatusBadRequest, "bad"
	case !encrypted && acct.EncodingMode == ModeSafe:
		http.Error(rw, "plaintext message refused in safe mode", http.StatusForbidden)
		return http.StatusForbidden, "forged"
	}
	var encrypt string
	if encrypted {
		if encrypt, err = unmarshalEnvelope(body); err != nil || encrypt == "" {
			http.Error(rw, "malformed encrypted message", http.StatusBadRequest)
			return http.StatusBadRequest, "bad"
		}
		if q.Get("msg_signature") != util.Signature(acct.Token, q.Get("timestamp"), q.Get("nonce"), encrypt) {
			http.Error(rw, "bad msg_signature", http.StatusForbidden)
			return http.StatusForbidden, "forged"
		}
	}
	mix, random, err := acct.decode(r, q, body, encrypted, encrypt)
	if err != nil {
		// Malformed XML or a message that would not decrypt: nothing was
		// handled, nothing recorded.
		http.Error(rw, "malformed message", http.StatusBadRequest)
		return http.StatusBadRequest, "bad"
	}
	if mix == nil {
		// A POST carrying echostr is answered as the SDK did: nothing handled.
		rw.Write([]byte("success"))
		return http.StatusOK, "bad"
	}
	ctx, cancel := context.WithTimeout(r.Context(), handleTimeout)
	defer cancel()
	wire, kind, handleErr := w.handle(ctx, acct, q, mix)
	if handleErr != nil {
		if errors.Is(handleErr, profile.ErrNonceReused) {
			http.Error(rw, "request already used", http.StatusForbidden)
			return http.StatusForbidden, "forged"
		}
		var bad badMessageError
		if errors.As(handleErr, &bad) {
			http.Error(rw, bad.Error(), http.StatusBadRequest)
			return http.StatusBadRequest, "bad"
		}
		// Let WeChat retry: the claim lapses, and a retry starts afresh.
		w.logger.Error("handle message", "account", acct.ID, "kind", kind, "err", handleErr)
		http.Error(rw, "temporarily unavailable", http.StatusServiceUnavailable)
		return http.StatusServiceUnavailable, kind
	}
	if wire == nil {
		// Nothing to say: "success" stops WeChat's retries and shows nothing
		// (also in safe mode, where the SDK would encrypt an empty reply).
		rw.Write([]byte("success"))
		return http.StatusOK, kind
	}
	out := getReplyBuf()
	defer putReplyBuf(out)
	if err := acct.encode(out, mix, wire, encrypted, random, ts, q.Get("nonce")); err != nil {
		w.logger.Error("send reply", "account", acct.ID, "err", err)
		http.Error(rw, "reply failed", http.StatusInternalServerError)
		return http.StatusInternalServerError, kind
	}
	rw.Header()["Content-Type"] = xmlContentType
	rw.WriteHeader(http.StatusOK)
	rw.Write(out.Bytes())
	return http.StatusOK, kind
}

// handle turns one decoded message into its passive reply (nil: nothing
// to say) and the message's kind (for metrics): the nonce is claimed
// (except in safe mode, see claimsNonce), then the message handled exactly
// once (process), or answered from memory while Redis is unavailable.
func (w *Webhook) handle(ctx context.Context, acct *hookAccount, q url.Values, mix *message.MixMessage) (*message.Reply, string, error) {
	msg, err := toMessage(acct.ID, mix)
	if err != nil {
		return nil, "bad", err
	}
	kind := msg.kind()
	if w.opts.RedisUp != nil && !w.opts.RedisUp() {
		return toWire(w.offline(ctx, acct.ID, kind, msg, errRedisDown)), kind, nil
	}
	if acct.claimsNonce() {
		err = w.store.ClaimNonce(ctx, acct.ID, q.Get("timestamp"), q.Get("nonce"), msg.dedupKey(), w.opts.ReplyTTL)
	}
	var reply Reply
	if err == nil {
		reply, err = w.process(ctx, msg, mix)
	}
	if err != nil && unavailable(err) {
		reply, err = w.offline(ctx, acct.ID, kind, msg, err), nil
	}
	if err != nil {
		return nil, kind, err
	}
	return toWire(reply), kind, nil
}

// claimsNonce reports whether the account's requests bind their signed
// (timestamp, nonce) to the message they carry (Store.ClaimNonce, a Redis
// round trip) before it is handled. Plain and compat accounts do: the URL
// signature covers the timestamp and nonce but not a plaintext body, so
// without the claim a captured request could carry a forged body (in
// compat mode also the pair of an encrypted request, sent again as
// plaintext).
//
// A safe-mode account does not need it, and skips it (a message is then
// one round trip, Commit, when the replica has the subscriber cached):
//   - It takes encrypted requests only (plaintext is refused before this),
//     and their msg_signature covers timestamp, nonce and the encrypted
//     body. A request that passes it is byte for byte one WeChat sent:
//     another body, or another pair for this body, needs the token.
//   - So a replay carries the very message it first carried: decryption
//     is deterministic, and so is dedupKey (MsgId, or for events sender,
//     CreateTime, event and key). The message's dedup record refuses it as
//     it refuses WeChat's own retries: while the first attempt runs
//     (Begin's claim, or the commit script's check of a late claim) and
//     after it (the kept reply lives ReplyTTL >= 2*MaxSkew + 1 min, longer
//     than the timestamp check lets any request in).
//   - The claim refused nothing more here: it refuses a pair carrying
//     another message, and lets the same message under the same pair
//     through, as WeChat's retries need. An original and its replay
//     racing on two replicas are then exactly what two racing retries are
//     with or without it: with the subscriber cached on both, both may run
//     the handler, one commit stores the outcome and the other returns the
//     stored reply. That is why handlers never call WeChat and their own
//     Redis writes are idempotent per message or per subscriber (sign-up
//     and cancellation op ids, attendance recorded once, the quiz's
//     msgKey, queued notices with fixed job ids). Delivery reports have
//     no dedup record either way: a ReportSink is idempotent.
//
// TestSafeModeReplayRunsOnce races replays on two replicas;
// TestCompatTripleOfEncryptedCarriesNoPlaintext keeps compat's claim.
func (a *hookAccount) claimsNonce() bool { return a.EncodingMode != ModeSafe }

// errRedisDown is the cause logged when WebhookOptions.RedisUp says no.
var errRedisDown = errors.New("redis down (health monitor)")

// offlineTimeout bounds an answer from memory after Redis failed.
const offlineTimeout = 300 * time.Millisecond

// unavailable reports whether err means Redis could not be reached in
// time (down, failing over, restarting), not that the message was bad.
func unavailable(err error) bool {
	return redisconn.Unavailable(err) || errors.Is(err, context.DeadlineExceeded)
}

// offline answers msg without Redis (see OfflineHandler): WeChat gets a
// reply within its 5 s, and nothing is recorded, so nothing is recorded
// twice when the resident sends it again.
func (w *Webhook) offline(ctx context.Context, account, kind string, msg *Message, cause error) Reply {
	w.logger.Warn("redis unavailable: answered from memory, recorded nothing", "account", account, "kind", kind, "err", cause)
	w.opts.Metrics.offlines.Inc()
	oh, ok := w.handler.(OfflineHandler)
	if !ok {
		return Text(txtOffline)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), offlineTimeout)
	defer cancel()
	return oh.Offline(ctx, &Request{Msg: msg, Profile: &profile.Profile{OpenID: msg.OpenID}, New: true, Now: w.opts.Now()})
}

type badMessageError struct{ msg string }

func (e badMessageError) Error() string { return e.msg }

// toMessage validates and reduces the wire message.
func toMessage(account string, mix *message.MixMessage) (*Message, error) {
	if !profile.ValidOpenID(string(mix.FromUserName)) || mix.MsgType == "" {
		return nil, badMessageError{"message without a valid sender or type"}
	}
	m := &Message{
		Account:  account,
		OpenID:   string(mix.FromUserName),
		Type:     string(mix.MsgType),
		Event:    string(mix.Event),
		EventKey: mix.EventKey,
		Text:     mix.Content,
		MsgID:    mix.MsgID,
	}
	if mix.CreateTime > 0 {
		m.CreateTime = time.Unix(mix.CreateTime, 0)
	} else {
		m.CreateTime = time.Now()
	}
	switch {
	case m.Type == "voice" && mix.Recognition != "":
		m.Type, m.Text = "text", mix.Recognition
	case m.Type == "location":
		m.Lat, m.Lon = mix.LocationX, mix.LocationY
	case m.Event == "LOCATION":
		m.Lat, _ = strconv.ParseFloat(strings.TrimSpace(mix.Latitude), 64)
		m.Lon, _ = strconv.ParseFloat(strings.TrimSpace(mix.Longitude), 64)
	}
	if m.Type == "event" && m.Event == "" {
		return nil, badMessageError{"event without type"}
	}
	return m, nil
}

func (m *Message) isReport() bool {
	switch m.Event {
	case "MASSSENDJOBFINISH", "TEMPLATESENDJOBFINISH", "subscribe_msg_popup_event", "subscribe_msg_change_event", "subscribe_msg_sent_event":
		return true
	}
	return false
}

// dedupKey names the message for deduplication: its MsgId, or for events
// the sender, CreateTime, event and key (WECHAT.md).
// The key lives under the sender's shard, which many subscribers share,
// so it names the sender too, by pseudonym: the record outlives an
// erasure by minutes, its name must not carry the openid.
func (m *Message) dedupKey() string {
	who := profile.Pseudonym(m.OpenID)
	if m.MsgID != 0 {
		return "m:" + who + ":" + strconv.FormatInt(m.MsgID, 10)
	}
	return "e:" + who + ":" + strconv.FormatInt(m.CreateTime.Unix(), 10) + ":" + m.Event + ":" +
		strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(m.EventKey))), 36)
}

// kind names the message for metrics. The type and event come from the
// sender, so only known ones become label values; the rest are "other".
func (m *Message) kind() string {
	if m.Type == "event" {
		if knownEvents[m.Event] {
			return "event_" + strings.ToLower(m.Event)
		}
		return "event_other"
	}
	if knownTypes[m.Type] {
		return m.Type
	}
	return "other"
}

var (
	knownTypes = map[string]bool{"text": true, "image": true, "voice": true, "video": true,
		"shortvideo": true, "location": true, "link": true, "file": true, "miniprogrampage": true}
	knownEvents = map[string]bool{"subscribe": true, "unsubscribe": true, "SCAN": true, "CLICK": true,
		"VIEW": true, "LOCATION": true, "MASSSENDJOBFINISH": true, "TEMPLATESENDJOBFINISH": true,
		"subscribe_msg_popup_event": true, "subscribe_msg_change_event": true, "subscribe_msg_sent_event": true,
		"scancode_push": true, "scancode_waitmsg": true, "pic_sysphoto": true, "pic_photo_or_album": true,
		"pic_weixin": true, "location_select": true, "view_miniprogram": true}
)

// noCache satisfies the SDK's cache for the server side, which never uses it.
type noCache struct{}

func (noCache) Get(string) any                       { return nil }
func (noCache) Set(string, any, time.Duration) error { return nil }
func (noCache) IsExist(string) bool                  { return false }
func (noCache) Delete(string) error                  { return nil }
