package wechattest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// bundle is what a test of the fake needs.
type bundle struct {
	srv   *wechattest.Server
	clock *clock
	acct  wechattest.Account
	tok   string
}

const appID = "wxtestapp"

// setup starts a fake with one account (of type typ) and a token.
func setup(t *testing.T, typ wechattest.AccountType) *bundle {
	t.Helper()
	// 2025-01-15 10:00 Beijing time: mid-month, mid-day.
	c := &clock{t: time.Date(2025, 1, 15, 2, 0, 0, 0, time.UTC)}
	srv := wechattest.New(wechattest.Options{Now: c.Now, Seed: 1})
	t.Cleanup(srv.Close)
	acct := wechattest.Account{
		AppID: appID, Secret: "secret", Type: typ, Token: "tok",
		EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	}
	srv.AddAccount(acct)
	b := &bundle{srv: srv, clock: c, acct: acct}
	b.tok = b.stableToken(t, false)["access_token"].(string)
	return b
}

type obj = map[string]any

func (b *bundle) stableToken(t *testing.T, force bool) obj {
	t.Helper()
	return b.raw(t, http.MethodPost, "/cgi-bin/stable_token", nil,
		obj{"grant_type": "client_credential", "appid": b.acct.AppID, "secret": b.acct.Secret, "force_refresh": force})
}

// post calls an API with the bundle's token.
func (b *bundle) post(t *testing.T, path string, body any) obj {
	t.Helper()
	return b.raw(t, http.MethodPost, path, url.Values{"access_token": {b.tok}}, body)
}

func (b *bundle) get(t *testing.T, path string, q url.Values) obj {
	t.Helper()
	if q == nil {
		q = url.Values{}
	}
	q.Set("access_token", b.tok)
	return b.raw(t, http.MethodGet, path, q, nil)
}

func (b *bundle) raw(t *testing.T, method, path string, q url.Values, body any) obj {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, b.srv.URL()+path+"?"+q.Encode(), rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out obj
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: decode: %v", path, err)
	}
	return out
}

// code is the errcode of an answer (0 when absent).
func code(m obj) int {
	if v, ok := m["errcode"].(float64); ok {
		return int(v)
	}
	return 0
}

func wantCode(t *testing.T, what string, m obj, want int) {
	t.Helper()
	if got := code(m); got != want {
		t.Errorf("%s: errcode = %d (%v), want %d", what, got, m["errmsg"], want)
	}
}

func text(to, content string) obj {
	return obj{"touser": to, "msgtype": "text", "text": obj{"content": content}}
}

// advance moves the clock and fetches a fresh token, for tests that span
// longer than a token's life.
func (b *bundle) advance(t *testing.T, d time.Duration) {
	t.Helper()
	b.clock.Advance(d)
	b.tok = b.stableToken(t, false)["access_token"].(string)
}
