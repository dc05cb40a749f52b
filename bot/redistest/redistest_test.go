package redistest_test

import (
	"context"
	"testing"

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
