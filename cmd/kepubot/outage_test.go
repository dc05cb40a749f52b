package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// metric reads one unlabelled sample from /metrics (-1 when absent).
func (e *e2e) metric(name string) float64 {
	e.t.Helper()
	resp, err := http.Get(e.base + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	return -1
}

// waitHealth polls /healthz until it answers want.
func (e *e2e) waitHealth(want int, within time.Duration) time.Duration {
	e.t.Helper()
	start := time.Now()
	for {
		code, body := e.api("GET", "/healthz", "", nil)
		if code == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			e.t.Fatalf("healthz = %d %v after %v, want %d", code, body, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedisRestartEndToEnd: the whole service on a redis-server with AOF
// everysec, which is SIGKILLed and restarted. /healthz goes red then green
// by itself, /metrics counts the outage, and the webhook answers 帮助
// throughout, from memory, within WeChat's 5 s and never with a 5xx.
// (That a campaign loses nothing across the restart is
// scheduler/campaign's TestDeliveryUnderRedisSIGKILL.)
func TestRedisRestartEndToEnd(t *testing.T) {
	t.Parallel()
	redistest.SkipOnCluster(t, "it SIGKILLs and restarts one redis-server")
	srv := redistest.StartServer(t, redistest.Options{TCP: true, Args: []string{"--appendonly", "yes", "--appendfsync", "everysec"}})
	e := startE2EOn(t, srv)
	e.onboard("oOutage1", "农民", "派潭镇")
	e.waitHealth(http.StatusOK, 5*time.Second)
	if got := e.say("oOutage1", "帮助"); !strings.Contains(got, "您可以这样用") {
		t.Fatalf("帮助 = %q", got)
	}
	if got := e.metric("kepubot_webhook_answered_early_total"); got != 1 {
		t.Errorf("kepubot_webhook_answered_early_total = %v after one 帮助, want 1", got)
	}
	if got := e.metric("kepubot_redis_up"); got != 1 {
		t.Errorf("kepubot_redis_up = %v before the kill, want 1", got)
	}

	killed := time.Now()
	srv.Kill()
	red := e.waitHealth(http.StatusServiceUnavailable, 10*time.Second)
	for range 3 {
		start := time.Now()
		r, err := e.phone.Text(context.Background(), "oOutage1", "帮助")
		if err != nil || r.Status != http.StatusOK || !strings.Contains(r.Content, "您可以这样用") {
			t.Fatalf("帮助 during the outage = %d %q, %v", r.Status, r.Content, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("帮助 during the outage answered after %v, want within 5 s", took)
		}
	}
	if got := e.metric("kepubot_redis_up"); got != 0 {
		t.Errorf("kepubot_redis_up = %v during the outage, want 0", got)
	}
	if got := e.metric("kepubot_webhook_offline_total"); got < 3 {
		t.Errorf("kepubot_webhook_offline_total = %v, want ≥ 3", got)
	}

	srv.Restart(t)
	restarted := time.Now()
	green := e.waitHealth(http.StatusOK, 10*time.Second)
	if got := e.metric("kepubot_redis_outages_total"); got != 1 {
		t.Errorf("kepubot_redis_outages_total = %v, want 1", got)
	}
	if got := e.metric("kepubot_redis_outage_seconds_total"); got <= 0 {
		t.Errorf("kepubot_redis_outage_seconds_total = %v, want > 0", got)
	}
	// Wait for the monitor too (healthz pings by itself), then the
	// resident's data is there again and writes work.
	deadline := time.Now().Add(5 * time.Second)
	for e.metric("kepubot_redis_up") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("kepubot_redis_up still 0 after the restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := e.say("oOutage1", "我的"); !strings.Contains(got, "派潭") {
		t.Errorf("我的 after the restart = %q, want the profile (派潭)", got)
	}
	t.Logf("healthz red %v after the kill; restart took %v; green %v after it; outage counted %.2f s, %v Redis errors",
		red.Round(time.Millisecond), restarted.Sub(killed).Round(time.Millisecond), green.Round(time.Millisecond),
		e.metric("kepubot_redis_outage_seconds_total"), e.metric("kepubot_redis_errors_total"))
}
