package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// TestWebhookWhileRedisDown: with the redis-server SIGKILLed, the webhook
// still answers every message within WeChat's 5 s and never with a 5xx:
// help and search from memory, and what must write (onboarding, a
// command) with a kind "send it again later" that records nothing. Once
// Redis is back, the same resident is onboarded as usual.
func TestWebhookWhileRedisDown(t *testing.T) {
	t.Parallel()
	redistest.SkipOnCluster(t, "it SIGKILLs one redis-server; the Cluster's fault is TestWebhookDuringClusterFailover")
	srv := redistest.StartServer(t, redistest.Options{})
	ix, seg := sampleIndex(t)
	cs := bot.NewContentSearch(seg, nil, nil)
	cs.SetIndex("default", ix)
	f := setupOn(t, srv.Client(t), func(o *bot.Options) { o.Search = cs })
	if r, err := f.phone.Event(f.ctx, "oDown", "subscribe", "", nil); err != nil || r.Status != 200 {
		t.Fatalf("subscribe before the outage: %+v, %v", r, err)
	}
	srv.Kill()

	const offline = "系统正在检修"
	tests := []struct {
		name, text   string
		wantText     string // a part of the reply's text ("" when articles)
		wantArticles bool
	}{
		{"help", "帮助", "您可以这样用", false},
		{"search", "荔枝", "荔枝", false}, // articles come as one text here
		{"command that writes", "退订", offline, false},
		{"command that reads", "我的", offline, false},
		{"nothing found", "zzzz", offline, false},
	}
	for _, tc := range tests {
		start := time.Now()
		r, err := f.phone.Text(f.ctx, "oDown", tc.text)
		took := time.Since(start)
		t.Logf("%s: answered in %v", tc.name, took)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r.Status != 200 {
			t.Errorf("%s: status %d, want 200", tc.name, r.Status)
		}
		if took > 5*time.Second {
			t.Errorf("%s: answered after %v, want within WeChat's 5 s", tc.name, took)
		}
		if got := len(r.Articles) > 0; got != tc.wantArticles {
			t.Errorf("%s: articles %v, want %v (reply %q)", tc.name, got, tc.wantArticles, r.Content)
		}
		if !strings.Contains(r.Content, tc.wantText) {
			t.Errorf("%s: reply %q, want it to contain %q", tc.name, r.Content, tc.wantText)
		}
	}

	srv.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := f.phone.Text(f.ctx, "oDown", "帮助")
		if err == nil && r.Status == 200 && strings.Contains(r.Content, "您可以这样用") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer after the restart: %+v, %v", r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.flush(t)
	p, _, err := f.store.Get(f.ctx, "default", "oDown")
	if err != nil || p == nil {
		t.Fatalf("profile after restart: %+v, %v", p, err)
	}
	if !p.Subscribed {
		t.Errorf("Subscribed = false after the outage; the offline 退订 must record nothing")
	}
}

// TestWebhookDuringClusterFailover: on a real 6-node Redis Cluster, a
// master is SIGKILLed; while its replica is promoted, residents whose
// profiles live on every master keep getting answers to 帮助 and searches
// within WeChat's 5 s, never a 5xx; after the promotion, writes work
// again through the same client.
func TestWebhookDuringClusterFailover(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{})
	ix, seg := sampleIndex(t)
	cs := bot.NewContentSearch(seg, nil, nil)
	cs.SetIndex("default", ix)
	f := setupOn(t, cl.Client(t), func(o *bot.Options) { o.Search = cs })
	var people []string
	for i := range 12 {
		o := fmt.Sprintf("oFail%02d", i)
		if r, err := f.phone.Event(f.ctx, o, "subscribe", "", nil); err != nil || r.Status != 200 {
			t.Fatalf("subscribe %s: %+v, %v", o, r, err)
		}
		people = append(people, o)
	}
	dead, err := cl.MasterOf(f.ctx, "probe1")
	if err != nil {
		t.Fatal(err)
	}
	dead.Kill()
	var wg sync.WaitGroup
	var slowest atomic.Int64
	for _, o := range people {
		for _, tc := range []struct{ text, want string }{{"帮助", "您可以这样用"}, {"荔枝", ""}} {
			wg.Go(func() {
				start := time.Now()
				r, err := f.phone.Text(f.ctx, o, tc.text)
				took := time.Since(start)
				if took.Nanoseconds() > slowest.Load() {
					slowest.Store(took.Nanoseconds())
				}
				// 荔枝 is a search, or (with the profile at hand) an answer
				// to the onboarding question: any reply will do.
				if err != nil || r.Status != 200 || r.Content == "" || !strings.Contains(r.Content, tc.want) {
					t.Errorf("%s %s during the failover: %d %q, %v", o, tc.text, r.Status, r.Content, err)
				}
				if took > 5*time.Second {
					t.Errorf("%s %s answered after %v, want within 5 s", o, tc.text, took)
				}
			})
		}
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	if _, err := cl.WaitPromoted(ctx, "probe1", dead); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, o := range people {
		for {
			r, err := f.phone.Text(f.ctx, o, "退订")
			if err == nil && r.Status == 200 && !strings.Contains(r.Content, "系统正在检修") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: 退订 after the promotion = %q, %v", o, r.Content, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("slowest answer during the failover: %v", time.Duration(slowest.Load()).Round(time.Millisecond))
}
