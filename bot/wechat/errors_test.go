package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount/basic"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// sdkText are the SDK's plain-text error formats in v2.1.10, copied from
// its source, with the file each comes from.
var sdkText = []struct {
	where  string
	format string
}{
	{"message/customer_message.go Send", "customer msg send error : errcode=%v , errmsg=%v"},
	{"message/template.go Send", "template msg send error : errcode=%v , errmsg=%v"},
	{"user/user.go GetUserInfo", "GetUserInfo Error , errcode=%d , errmsg=%s"},
	{"user/tag.go CreateTag", "CreateTag Error , errcode=%d , errmsg=%s"},
	{"basic/qr.go GetQRTicket", "get qr_ticket error : errcode=%v , errormsg=%v"},
	{"credential StableAccessToken", "get stable access_token error : errcode=%v , errormsg=%v"},
	{"credential GetTokenFromServer", "get access_token error : errcode=%v , errormsg=%v"},
}

func TestClassifyTable(t *testing.T) {
	t.Parallel()
	classes := []struct {
		code int
		want Class
	}{
		{-1, Retry}, {45009, RateLimited}, {45011, RateLimited},
		{40001, TokenInvalid}, {40014, TokenInvalid}, {42001, TokenInvalid},
		{45015, WindowClosed}, {45047, QuotaUsed}, {43004, Unfollowed},
		{45065, Duplicate}, {40003, Permanent}, {43101, Permanent}, {40125, Permanent},
	}
	for _, c := range classes {
		errs := map[string]error{
			"*Error":                    &Error{Code: c.code, Msg: "m", Op: "op"},
			"wrapped *Error":            fmt.Errorf("send: %w", &Error{Code: c.code}),
			"*util.CommonError":         util.NewCommonError("SetMenu", int64(c.code), "m"),
			"DecodeWithCommonError":     util.DecodeWithCommonError([]byte(fmt.Sprintf(`{"errcode":%d,"errmsg":"errcode=1 in text"}`, c.code)), "BatchTag"),
			"wrapped *util.CommonError": fmt.Errorf("x: %w", util.NewCommonError("GetMenu", int64(c.code), "m")),
		}
		for _, s := range sdkText {
			errs[s.where] = fmt.Errorf(s.format, c.code, "errcode=1 inside the message")
		}
		for name, err := range errs {
			if got, ok := Code(err); !ok || got != c.code {
				t.Errorf("Code(%s %d) = %d, %v; want %d", name, c.code, got, ok, c.code)
			}
			if got := Classify(err); got != c.want {
				t.Errorf("Classify(%s %d) = %v, want %v", name, c.code, got, c.want)
			}
			if got := Classify(wrap("op", err)); got != c.want {
				t.Errorf("Classify(wrap(%s %d)) = %v, want %v", name, c.code, got, c.want)
			}
		}
	}
}

func TestClassifyTransport(t *testing.T) {
	t.Parallel()
	secretURL := "https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=SECRET123"
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, OK},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), Retry},
		{"canceled", context.Canceled, Permanent},
		{"url.Error", &url.Error{Op: "Post", URL: secretURL, Err: io.EOF}, Retry},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), Retry},
		{"SDK 502", fmt.Errorf("http post error : uri=%v , statusCode=%v", secretURL, 502), Retry},
		{"SDK 404", fmt.Errorf("http get error : uri=%v , statusCode=%v", secretURL, 404), Permanent},
		{"other", errors.New("json: cannot unmarshal"), Permanent},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%s) = %v, want %v", tt.name, got, tt.want)
		}
		if tt.err == nil {
			continue
		}
		w := wrap("custom_send", tt.err)
		if strings.Contains(w.Error(), "SECRET123") {
			t.Errorf("wrap(%s) leaks the token: %v", tt.name, w)
		}
		if Classify(w) != tt.want {
			t.Errorf("Classify(wrap(%s)) = %v, want %v", tt.name, Classify(w), tt.want)
		}
		if _, ok := Code(tt.err); ok {
			t.Errorf("Code(%s) found an errcode", tt.name)
		}
	}
}

// TestCodeOfRealSDKErrors pins Code to errors the SDK itself produces
// against the fake, for each text-style call.
func TestCodeOfRealSDKErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, ServiceAccount)
	b.follow("oA")
	if _, err := b.c.AccessToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, dupErr := b.c.user.CreateTag("dup")
	if dupErr != nil {
		t.Fatal(dupErr)
	}
	_, dupErr = b.c.user.CreateTag("dup")
	_, tplErr := b.c.template.Send(&message.TemplateMessage{ToUser: "oA"})
	_, qrErr := b.c.basic.GetQRTicket(basic.NewLimitQrRequest(""))
	_, infoErr := b.c.user.GetUserInfo("oA") // the fake has no user/info
	_, tokErr := credential.GetTokenFromServerContext(context.Background(),
		"https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid="+b.appID+"&secret=bad")
	stable := credential.NewStableAccessToken(b.appID, "bad", credential.CacheKeyOfficialAccountPrefix,
		&redisCache{rdb: redistest.Start(t), timeout: time.Second}) // empty cache: it must fetch
	_, stableErr := stable.GetAccessTokenContext(context.Background())
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"customer Send", b.c.custom.Send(message.NewCustomerTextMessage("oA", "x")), 45015},
		{"Template.Send", tplErr, 40037},
		{"CreateTag", dupErr, 45157},
		{"GetQRTicket", qrErr, 40053},
		{"GetUserInfo", infoErr, 40066},
		{"token", tokErr, 40125},
		{"stable token", stableErr, 40125},
		{"BatchTag (CommonError)", b.c.user.BatchTag([]string{"oA"}, 999), 45159},
		{"SetMenu (CommonError)", b.c.menu.SetMenu(nil), 40016},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if got, ok := Code(tt.err); !ok || got != tt.want {
			t.Errorf("Code(%s: %v) = %d, %v; want %d", tt.name, tt.err, got, ok, tt.want)
		}
	}
}

func TestClassString(t *testing.T) {
	t.Parallel()
	if got := RateLimited.String(); got != "rate_limited" {
		t.Errorf("RateLimited.String() = %q", got)
	}
}
