package redistest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

func TestStartIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := redistest.Start(t), redistest.Start(t)
	if err := a.Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Errorf("second server sees key: n=%d err=%v", n, err)
	}
	if _, err := redistest.UsedMemory(ctx, a); err != nil {
		t.Errorf("UsedMemory: %v", err)
	}
}

func TestKill(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, redistest.Options{TCP: true})
	c := srv.Client(t)
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Error("Ping after Kill succeeded")
	}
	srv.Stop() // safe twice
}

// TestClusterFailover: a 6-node Cluster starts healthy; its client writes
// keys on every master; the master of one key is SIGKILLed; its replica is
// promoted and the same client writes that key again, without a restart.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{})
	if got := len(cl.Nodes); got != 6 {
		t.Fatalf("len(Nodes) = %d, want 6", got)
	}
	if got := len(cl.Masters(ctx)); got != 3 {
		t.Fatalf("len(Masters) = %d, want 3", got)
	}
	c := cl.Client(t)
	for i := range 30 {
		if err := c.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	dead, err := cl.MasterOf(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	dead.Kill()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	promoted, err := cl.WaitPromoted(wctx, "k1", dead)
	if err != nil {
		t.Fatal(err)
	}
	if promoted == dead {
		t.Fatal("WaitPromoted returned the dead node")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.Set(ctx, "k1", "again", 0).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Set after promotion: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, err := c.Get(ctx, "k2").Result(); err != nil || got != "2" {
		t.Errorf("Get(k2) = %q, %v; want \"2\"", got, err)
	}
}
