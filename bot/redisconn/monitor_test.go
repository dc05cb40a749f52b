package redisconn_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zengcheng-kexie/kepubot/bot/redisconn"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// TestMonitorOutage: one failed ping is not an outage (a starved machine
// misses one); two in a row are, and the first ping that answers ends it.
func TestMonitorOutage(t *testing.T) {
	t.Parallel()
	redistest.SkipOnCluster(t, "it SIGKILLs and restarts one redis-server")
	srv := redistest.StartServer(t, redistest.Options{TCP: true})
	rdb := srv.Client(t)
	reg := prometheus.NewRegistry()
	m := redisconn.NewMonitor(rdb, reg, nil, 200*time.Millisecond)
	ctx := context.Background()

	if !m.Check(ctx) || !m.Up() {
		t.Fatal("Redis runs: want up")
	}
	srv.Kill()
	if m.Check(ctx) {
		t.Fatal("a ping to a killed Redis answered")
	}
	if !m.Up() {
		t.Error("down after one failed ping, want up until the second")
	}
	m.Check(ctx)
	if m.Up() {
		t.Error("two failed pings in a row: want down")
	}
	if got := metric(t, reg, "kepubot_redis_up"); got != 0 {
		t.Errorf("kepubot_redis_up = %v during the outage, want 0", got)
	}
	srv.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for !m.Check(ctx) {
		if time.Now().After(deadline) {
			t.Fatal("Redis restarted but the pings do not answer")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !m.Up() {
		t.Error("a ping answered after the restart: want up")
	}
	if got := metric(t, reg, "kepubot_redis_outages_total"); got != 1 {
		t.Errorf("kepubot_redis_outages_total = %v, want 1", got)
	}

	// A single failure between answers never counts as an outage.
	srv.Kill()
	m.Check(ctx)
	srv.Restart(t)
	for !m.Check(ctx) {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("Redis restarted but the pings do not answer")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := metric(t, reg, "kepubot_redis_outages_total"); got != 1 {
		t.Errorf("kepubot_redis_outages_total = %v after one lone failed ping, want still 1", got)
	}
}

// metric returns the value of the gauge or counter registered as name.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
