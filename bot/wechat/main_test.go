package wechat

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

// fake is the one fake WeChat of this package's tests: the API base is
// process-wide. Tests isolate themselves by appid.
var (
	fake   *wechattest.Server
	appSeq atomic.Int64
)

func TestMain(m *testing.M) {
	fake = wechattest.New(wechattest.Options{Seed: 1})
	if err := SetAPIBase(fake.URL()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	fake.Close()
	os.Exit(code)
}

// bundle is what a client test needs.
type bundle struct {
	c     *Client
	appID string
	rdb   redis.UniversalClient
	reg   *prometheus.Registry
}

// setup registers a new account with the fake and returns a client for it.
func setup(t *testing.T, typ AccountType) *bundle {
	t.Helper()
	// A fresh appid per call keeps repeated runs (-count) apart too.
	appID := fmt.Sprintf("wxtest%012d", appSeq.Add(1))
	fakeType := wechattest.ServiceAccount
	if typ == SubscriptionAccount {
		fakeType = wechattest.SubscriptionAccount
	}
	fake.AddAccount(wechattest.Account{AppID: appID, Secret: "s3cret", Type: fakeType, Token: "tok"})
	rdb := redistest.Start(t)
	reg := prometheus.NewRegistry()
	c, err := New(Config{AccountID: "test", AppID: appID, AppSecret: "s3cret", Type: typ}, rdb, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{c: c, appID: appID, rdb: rdb, reg: reg}
}

// follow makes openids followers of the bundle's account.
func (b *bundle) follow(openIDs ...string) {
	for _, id := range openIDs {
		fake.Follow(b.appID, id)
	}
}

// calls counts the fake's calls for the bundle's account on path.
func (b *bundle) calls(path string) int {
	n := 0
	for _, c := range fake.Calls() {
		if c.AppID == b.appID && c.Path == path {
			n++
		}
	}
	return n
}
