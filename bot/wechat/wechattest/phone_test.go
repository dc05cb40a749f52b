package wechattest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

// noCache satisfies the SDK's cache, which its server never uses.
type noCache struct{}

func (noCache) Get(string) any                       { return nil }
func (noCache) Set(string, any, time.Duration) error { return nil }
func (noCache) IsExist(string) bool                  { return false }
func (noCache) Delete(string) error                  { return nil }

// webhook is a webhook built on the SDK's server, as the service's is: it
// echoes texts, answers CLICK with a news article and events otherwise
// with nothing.
func webhook(t *testing.T, acct wechattest.Account) string {
	t.Helper()
	oa := officialaccount.NewOfficialAccount(&config.Config{
		AppID: acct.AppID, AppSecret: acct.Secret, Token: acct.Token,
		EncodingAESKey: acct.EncodingAESKey, Cache: noCache{},
	})
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv := oa.GetServer(r, w)
		srv.SetMessageHandler(func(m *message.MixMessage) *message.Reply {
			switch {
			case m.MsgType == message.MsgTypeText:
				return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText("echo: " + m.Content)}
			case m.Event == message.EventClick:
				a := message.NewArticle("Title "+m.EventKey, "desc", "https://pic", "https://url")
				return &message.Reply{MsgType: message.MsgTypeNews, MsgData: message.NewNews([]*message.Article{a})}
			case m.Event == message.EventLocation:
				return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(m.Latitude + "," + m.Longitude)}
			}
			return nil
		})
		if err := srv.Serve(); err != nil {
			http.Error(w, "bad request", http.StatusForbidden)
			return
		}
		_ = srv.Send()
	}))
	t.Cleanup(h.Close)
	return h.URL
}

func TestPhone(t *testing.T) {
	t.Parallel()
	for _, safe := range []bool{false, true} {
		name := "plaintext"
		if safe {
			name = "safe mode"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setup(t, wechattest.ServiceAccount)
			p := wechattest.NewPhone(b.srv, b.acct, webhook(t, b.acct), safe)
			const u = "oPhone"

			r, err := p.Event(ctx, u, "subscribe", "qrscene_town-3", map[string]string{"Ticket": "T"})
			if err != nil || r.Status != 200 || r.MsgType != "" {
				t.Fatalf("subscribe: %+v, %v; want empty 200 reply", r, err)
			}
			if !b.srv.Following(appID, u) {
				t.Error("subscribe did not record a follow")
			}

			r, err = p.Text(ctx, u, "hello ]]> world")
			if err != nil || r.MsgType != "text" || r.Content != "echo: hello ]]> world" {
				t.Fatalf("Text = %+v, %v", r, err)
			}
			if safe && !strings.Contains(r.Raw, "<Encrypt>") {
				t.Errorf("safe-mode reply is not encrypted: %s", r.Raw)
			}
			// The text opened the 48 h window: 3 + 5 messages may be sent.
			for range 8 {
				wantCode(t, "custom send", b.post(t, "/cgi-bin/message/custom/send", text(u, "x")), 0)
			}

			// A retry of the same message reaches the webhook again.
			again, err := p.Post(ctx, r.Request)
			if err != nil || again.Content != r.Content {
				t.Errorf("resend = %+v, %v", again, err)
			}

			r, err = p.Event(ctx, u, "CLICK", "menu_quiz", nil)
			if err != nil || r.MsgType != "news" || len(r.Articles) != 1 || r.Articles[0].Title != "Title menu_quiz" || r.Articles[0].URL != "https://url" {
				t.Errorf("CLICK = %+v, %v", r, err)
			}

			r, err = p.Event(ctx, u, "LOCATION", "", map[string]string{"Latitude": "30.1", "Longitude": "120.2", "Precision": "65.0"})
			if err != nil || r.Content != "30.1,120.2" {
				t.Errorf("LOCATION = %+v, %v", r, err)
			}

			r, err = p.Post(ctx, r.Request, wechattest.BadSignature())
			if err != nil || r.Status != http.StatusForbidden {
				t.Errorf("forged post: status %d, %v; want 403", r.Status, err)
			}

			if _, err := p.Event(ctx, u, "unsubscribe", "", nil); err != nil {
				t.Fatal(err)
			}
			if b.srv.Following(appID, u) {
				t.Error("unsubscribe did not record an unfollow")
			}

			// The chat: what the phone sent, the replies, and the 8 pushes
			// (same second here, so the phone's lines come first). Resends
			// through Post are not the user's doing and are not in it.
			var got []string
			for _, l := range b.srv.Chat(appID, u) {
				who := "user"
				if !l.FromUser {
					who = l.Channel
				}
				line := who + ":" + l.Text
				if len(l.Articles) > 0 {
					line += l.Articles[0].Title
				}
				got = append(got, line)
			}
			want := []string{"user:[扫码关注]", "user:hello ]]> world", "reply:echo: hello ]]> world",
				"user:[点击菜单 menu_quiz]", "reply:Title menu_quiz", "user:[发送位置]", "reply:30.1,120.2", "user:[取消关注]"}
			for range 8 {
				want = append(want, "custom:x")
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("chat:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestPhoneRejectsBadReplySignature(t *testing.T) {
	t.Parallel()
	b := setup(t, wechattest.ServiceAccount)
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc, _ := util.EncryptMsg([]byte("0123456789abcdef"), []byte("<xml><MsgType>text</MsgType></xml>"), appID, b.acct.EncodingAESKey)
		w.Write([]byte("<xml><Encrypt><![CDATA[" + string(enc) + "]]></Encrypt><MsgSignature>bad</MsgSignature><TimeStamp>1</TimeStamp><Nonce>2</Nonce></xml>"))
	}))
	defer h.Close()
	p := wechattest.NewPhone(b.srv, b.acct, h.URL, true)
	if _, err := p.Text(context.Background(), "oX", "hi"); err == nil {
		t.Error("Text accepted a reply with a bad msg_signature")
	}
}

// The official vector from Tencent's WXBizMsgCrypt sample.
const (
	vecToken   = "spamtest"
	vecKey     = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	vecAppID   = "wx2c2769f8efd9abc2"
	vecTS      = "1409735669"
	vecNonce   = "1320562132"
	vecSig     = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
	vecEncrypt = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)

func TestOfficialEncryptionVector(t *testing.T) {
	t.Parallel()
	if got := util.Signature(vecToken, vecTS, vecNonce, vecEncrypt); got != vecSig {
		t.Errorf("msg_signature = %s, want %s", got, vecSig)
	}
	_, plain, err := util.DecryptMsg(vecAppID, vecEncrypt, vecKey)
	if err != nil {
		t.Fatalf("DecryptMsg: %v", err)
	}
	if !strings.Contains(string(plain), "<Content><![CDATA[abcdteT]]></Content>") {
		t.Errorf("plaintext = %s, want Content abcdteT", plain)
	}
	// Round trip with the same key and appid, as Phone encrypts.
	enc, err := util.EncryptMsg([]byte("0123456789abcdef"), plain, vecAppID, vecKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, back, err := util.DecryptMsg(vecAppID, string(enc), vecKey); err != nil || string(back) != string(plain) {
		t.Errorf("round trip = %q, %v", back, err)
	}
}
