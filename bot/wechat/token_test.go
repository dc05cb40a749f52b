package wechat

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

func TestTokenKeyIsTheSDKs(t *testing.T) {
	t.Parallel()
	if got, want := tokenKey("wxA"), "gowechat_officialaccount__stable_access_token_wxA"; got != want {
		t.Errorf("tokenKey = %q, want %q", got, want)
	}
}

func TestAccessTokenIsSharedThroughRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	tok, err := b.c.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.rdb.Get(ctx, tokenKey(b.appID)).Val(); got != tok {
		t.Errorf("redis holds %q, want %q", got, tok)
	}
	ttl := b.rdb.TTL(ctx, tokenKey(b.appID)).Val()
	if ttl <= 0 {
		t.Errorf("token TTL = %v, want positive", ttl)
	}
	// A second replica on the same Redis makes no token fetch.
	other, err := New(b.c.Config(), b.rdb, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := other.AccessToken(ctx)
	if err != nil || tok2 != tok {
		t.Errorf("second client token = %q, %v; want %q", tok2, err, tok)
	}
	if n := fake.TokenFetches(b.appID); n != 1 {
		t.Errorf("TokenFetches = %d, want 1", n)
	}
}

func TestInvalidTokenCausesOneRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	if _, err := b.c.AccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	fake.Invalidate(b.appID)
	// Two replicas sharing Redis, 20 callers in all.
	other, err := New(b.c.Config(), b.rdb, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		c := b.c
		if i%2 == 1 {
			c = other
		}
		wg.Go(func() {
			_, err := c.ListTags(ctx)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("ListTags: %v", err)
		}
	}
	// Both replicas may call stable_token after the drop, but WeChat hands
	// out the current token: exactly one new token is issued.
	if n := fake.TokenFetches(b.appID); n != 2 {
		t.Errorf("TokenFetches = %d, want 2 (one refresh)", n)
	}
}

func TestInvalidTokenRefreshOneClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	if _, err := b.c.AccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	fake.Invalidate(b.appID)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := b.c.ListTags(ctx); err != nil {
				t.Errorf("ListTags: %v", err)
			}
		})
	}
	wg.Wait()
	if n := fake.TokenFetches(b.appID); n != 2 {
		t.Errorf("TokenFetches = %d, want exactly one extra fetch", n)
	}
	if n := b.calls("/cgi-bin/stable_token"); n != 2 {
		t.Errorf("stable_token calls = %d, want 2", n)
	}
}

func TestTokenRetryHappensOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	fake.InjectFault(wechattest.Fault{AppID: b.appID, Path: "/cgi-bin/tags/get", Count: 2, ErrCode: 42001})
	_, err := b.c.ListTags(ctx)
	if Classify(err) != TokenInvalid {
		t.Fatalf("ListTags after two 42001s: %v, want TokenInvalid", err)
	}
	if n := b.calls("/cgi-bin/tags/get"); n != 2 {
		t.Errorf("tags/get calls = %d, want 2 (one retry)", n)
	}
	fake.InjectFault(wechattest.Fault{AppID: b.appID, Path: "/cgi-bin/tags/get", Count: 1, ErrCode: 40014})
	if _, err := b.c.ListTags(ctx); err != nil {
		t.Errorf("ListTags after one 40014: %v, want success on retry", err)
	}
}

func TestWrongSecret(t *testing.T) {
	t.Parallel()
	b := setup(t, ServiceAccount)
	cfg := b.c.Config()
	cfg.AppSecret = "wrong"
	c, err := New(cfg, b.rdb, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AccessToken(context.Background())
	var we *Error
	if !errors.As(err, &we) || we.Code != 40125 || Classify(err) != Permanent {
		t.Errorf("AccessToken with a wrong secret: %v, want *Error 40125, Permanent", err)
	}
}
