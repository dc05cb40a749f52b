package wechattest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// Phone posts messages and events to a webhook the way WeChat does: signed
// URL, XML body, encrypted in safe mode, a 5-second deadline. It also
// records each interaction in the fake (follows, customer-service windows).
type Phone struct {
	srv     *Server
	acct    Account
	webhook string
	safe    bool
	client  *http.Client
}

// Article is one item of a news reply.
type Article struct {
	Title, Description, PicURL, URL string
}

// Reply is the webhook's answer as the user would see it.
type Reply struct {
	Status   int    // HTTP status
	Raw      string // body as received (encrypted in safe mode)
	MsgType  string // "" for an empty body or "success": nothing shown
	Content  string
	Articles []Article
	// Request is the plaintext XML that was posted; pass it to Post to
	// resend the same message, as WeChat's retries do.
	Request []byte
}

// NewPhone returns a phone that posts to webhookURL on behalf of account.
// In safe mode it encrypts requests and requires encrypted replies.
func NewPhone(srv *Server, account Account, webhookURL string, safeMode bool) *Phone {
	if account.OriginalID == "" {
		account.OriginalID = "gh_" + account.AppID
	}
	return &Phone{
		srv:     srv,
		acct:    account,
		webhook: webhookURL,
		safe:    safeMode,
		client:  &http.Client{Timeout: 5 * time.Second},
	}
}

// Text sends a text message from openid, which opens the 48-hour window.
func (p *Phone) Text(ctx context.Context, openID, content string) (Reply, error) {
	now := p.srv.now()
	p.srv.mu.Lock()
	msgID := p.srv.nextID()
	p.srv.mu.Unlock()
	body := p.header(openID, now, "text") +
		"<Content>" + cdata(content) + "</Content><MsgId>" + strconv.FormatInt(msgID, 10) + "</MsgId></xml>"
	p.srv.UserMessage(p.acct.AppID, openID)
	p.srv.noteChat(p.acct.AppID, openID, ChatLine{Time: now, FromUser: true, Kind: "text", Text: content})
	return p.noteReply(openID, now)(p.Post(ctx, []byte(body)))
}

// Voice sends a voice message from openid (an AMR recording), with
// WeChat's speech recognition text when recognition is not empty (WeChat
// leaves it out when it could not recognise the speech, or when speech
// recognition is off for the account). It opens the 48-hour window.
func (p *Phone) Voice(ctx context.Context, openID, recognition string) (Reply, error) {
	now := p.srv.now()
	p.srv.mu.Lock()
	msgID := p.srv.nextID()
	p.srv.mu.Unlock()
	body := p.header(openID, now, "voice") + "<MediaId>" + cdata("voice"+strconv.FormatInt(msgID, 10)) + "</MediaId>" +
		"<Format>" + cdata("amr") + "</Format>"
	if recognition != "" {
		body += "<Recognition>" + cdata(recognition) + "</Recognition>"
	}
	body += "<MsgId>" + strconv.FormatInt(msgID, 10) + "</MsgId></xml>"
	p.srv.UserMessage(p.acct.AppID, openID)
	p.srv.noteChat(p.acct.AppID, openID, ChatLine{Time: now, FromUser: true, Kind: "voice", Text: recognition})
	return p.noteReply(openID, now)(p.Post(ctx, []byte(body)))
}

// noteReply returns a function that records a reply in the chat and
// passes it on.
func (p *Phone) noteReply(openID string, at time.Time) func(Reply, error) (Reply, error) {
	return func(r Reply, err error) (Reply, error) {
		if err == nil && r.MsgType != "" {
			p.srv.noteChat(p.acct.AppID, openID, ChatLine{Time: at, Channel: "reply", Kind: r.MsgType,
				Text: r.Content, Articles: slices.Clone(r.Articles)})
		}
		return r, err
	}
}

// Event sends an event from openid: subscribe, unsubscribe, SCAN, CLICK,
// VIEW, LOCATION... extra adds elements such as Ticket, Latitude,
// Longitude and Precision. Follows, unfollows, scans and clicks are
// recorded in the fake as WeChat would (a VIEW or LOCATION opens no
// customer-service window).
func (p *Phone) Event(ctx context.Context, openID, event, eventKey string, extra map[string]string) (Reply, error) {
	now := p.srv.now()
	var b strings.Builder
	b.WriteString(p.header(openID, now, "event"))
	b.WriteString("<Event>" + cdata(event) + "</Event>")
	if eventKey != "" || event == "CLICK" || event == "VIEW" || event == "SCAN" {
		b.WriteString("<EventKey>" + cdata(eventKey) + "</EventKey>")
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := extra[k]
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			b.WriteString("<" + k + ">" + v + "</" + k + ">")
		} else {
			b.WriteString("<" + k + ">" + cdata(v) + "</" + k + ">")
		}
	}
	b.WriteString("</xml>")
	app := p.acct.AppID
	switch event {
	case "subscribe":
		p.srv.Follow(app, openID)
		p.srv.UserEvent(app, openID)
	case "unsubscribe":
		p.srv.Unfollow(app, openID)
	case "SCAN", "CLICK", "scancode_push", "scancode_waitmsg":
		p.srv.UserEvent(app, openID)
	}
	p.srv.noteChat(app, openID, ChatLine{Time: now, FromUser: true, Kind: "event", Text: eventText(event, eventKey)})
	return p.noteReply(openID, now)(p.Post(ctx, []byte(b.String())))
}

func (p *Phone) header(openID string, now time.Time, msgType string) string {
	return "<xml><ToUserName>" + cdata(p.acct.OriginalID) + "</ToUserName>" +
		"<FromUserName>" + cdata(openID) + "</FromUserName>" +
		"<CreateTime>" + strconv.FormatInt(now.Unix(), 10) + "</CreateTime>" +
		"<MsgType>" + cdata(msgType) + "</MsgType>"
}

// PostOption changes how Post signs a request.
type PostOption func(*postConfig)

type postConfig struct {
	badSignature bool
	timestamp    int64
	nonce        string
	random       string
}

// BadSignature makes Post send wrong signatures (a forged request).
func BadSignature() PostOption { return func(c *postConfig) { c.badSignature = true } }

// WithTimestamp sets the URL timestamp (default: the fake's clock).
func WithTimestamp(unix int64) PostOption { return func(c *postConfig) { c.timestamp = unix } }

// WithNonce sets the URL nonce (default: random).
func WithNonce(nonce string) PostOption { return func(c *postConfig) { c.nonce = nonce } }

// WithRandom sets the 16-byte random prefix a safe-mode request is
// encrypted with (default: random). With the same timestamp and nonce the
// request is then the same, byte for byte: a captured request replayed.
func WithRandom(random string) PostOption { return func(c *postConfig) { c.random = random } }

// Post signs and posts plaintext message XML as is, without recording
// anything in the fake: use it to resend a message (Reply.Request) as
// WeChat retries do, or to post hand-made or forged XML. A non-2xx status
// is not an error; check Reply.Status.
func (p *Phone) Post(ctx context.Context, rawXML []byte, opts ...PostOption) (Reply, error) {
	cfg := postConfig{timestamp: p.srv.now().Unix()}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.nonce == "" {
		cfg.nonce = randomDigits(10)
	}
	ts := strconv.FormatInt(cfg.timestamp, 10)
	q := url.Values{
		"signature": {util.Signature(p.acct.Token, ts, cfg.nonce)},
		"timestamp": {ts},
		"nonce":     {cfg.nonce},
		"openid":    {xmlField(rawXML, "FromUserName")},
	}
	body := rawXML
	if p.safe {
		if cfg.random == "" {
			cfg.random = randomDigits(16)
		}
		enc, err := util.EncryptMsg([]byte(cfg.random), rawXML, p.acct.AppID, p.acct.EncodingAESKey)
		if err != nil {
			return Reply{}, fmt.Errorf("encrypt message: %w", err)
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", util.Signature(p.acct.Token, ts, cfg.nonce, string(enc)))
		body = []byte("<xml><ToUserName>" + cdata(p.acct.OriginalID) + "</ToUserName><Encrypt>" +
			cdata(string(enc)) + "</Encrypt></xml>")
	}
	if cfg.badSignature {
		q.Set("signature", strings.Repeat("0", 40))
		if p.safe {
			q.Set("msg_signature", strings.Repeat("0", 40))
		}
	}
	target := p.webhook
	if strings.Contains(target, "?") {
		target += "&" + q.Encode()
	} else {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := p.client.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Reply{}, err
	}
	r := Reply{Status: resp.StatusCode, Raw: string(raw), Request: rawXML}
	if resp.StatusCode/100 != 2 {
		return r, nil
	}
	return p.parseReply(r)
}

// parseReply decodes (and in safe mode verifies and decrypts) a reply.
func (p *Phone) parseReply(r Reply) (Reply, error) {
	text := strings.TrimSpace(r.Raw)
	if text == "" || text == "success" {
		return r, nil
	}
	plain := []byte(text)
	if p.safe {
		var env struct {
			Encrypt      string `xml:"Encrypt"`
			MsgSignature string `xml:"MsgSignature"`
			TimeStamp    string `xml:"TimeStamp"`
			Nonce        string `xml:"Nonce"`
		}
		if err := xml.Unmarshal(plain, &env); err != nil {
			return r, fmt.Errorf("parse encrypted reply: %w", err)
		}
		if env.Encrypt == "" {
			return r, errors.New("safe mode reply is not encrypted")
		}
		if want := util.Signature(p.acct.Token, env.TimeStamp, env.Nonce, env.Encrypt); env.MsgSignature != want {
			return r, errors.New("reply has a bad msg_signature")
		}
		_, dec, err := util.DecryptMsg(p.acct.AppID, env.Encrypt, p.acct.EncodingAESKey)
		if err != nil {
			return r, fmt.Errorf("decrypt reply: %w", err)
		}
		plain = bytes.TrimSpace(dec)
		// The SDK encrypts its "success" too; WeChat shows nothing for it.
		if len(plain) == 0 || string(plain) == "success" {
			return r, nil
		}
	}
	var m struct {
		MsgType  string `xml:"MsgType"`
		Content  string `xml:"Content"`
		Articles []struct {
			Title       string `xml:"Title"`
			Description string `xml:"Description"`
			PicURL      string `xml:"PicUrl"`
			URL         string `xml:"Url"`
		} `xml:"Articles>item"`
	}
	if err := xml.Unmarshal(plain, &m); err != nil {
		return r, fmt.Errorf("parse reply: %w", err)
	}
	if m.MsgType == "" {
		return r, errors.New("reply has no MsgType")
	}
	r.MsgType, r.Content = m.MsgType, m.Content
	for _, a := range m.Articles {
		r.Articles = append(r.Articles, Article{Title: a.Title, Description: a.Description, PicURL: a.PicURL, URL: a.URL})
	}
	return r, nil
}

// cdata wraps s in a CDATA section, splitting any "]]>" inside it.
func cdata(s string) string {
	return "<![CDATA[" + cdataEscape(s) + "]]>"
}

func cdataEscape(s string) string {
	return strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>")
}

// xmlField extracts one top-level element's text from message XML.
func xmlField(raw []byte, name string) string {
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == name {
			var v string
			if d.DecodeElement(&v, &se) != nil {
				return ""
			}
			return v
		}
	}
}

// randomDigits returns n random decimal digits for nonces and padding.
func randomDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}
