package redisconn_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/zengcheng-kexie/kepubot/bot/redisconn"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// TestUpdateJSON: racing updates all count, a missing key is the caller's
// not-found error, and an error from fn writes nothing.
func TestUpdateJSON(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t)
	ctx := context.Background()
	type counter struct{ N int }
	errMissing, errRefused := errors.New("missing"), errors.New("refused")
	if _, err := redisconn.UpdateJSON(ctx, rdb, "k:{t}:c", errMissing, func(c *counter) error { return nil }); !errors.Is(err, errMissing) {
		t.Fatalf("update of a missing key = %v, want the not-found error", err)
	}
	rdb.Set(ctx, "k:{t}:c", `{"N":0}`, 0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if _, err := redisconn.UpdateJSON(ctx, rdb, "k:{t}:c", errMissing, func(c *counter) error { c.N++; return nil }); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := redisconn.UpdateJSON(ctx, rdb, "k:{t}:c", errMissing, func(c *counter) error { c.N = 1000; return errRefused })
	if !errors.Is(err, errRefused) || got != nil {
		t.Errorf("fn's error: got %v, %v; want nil, the error", got, err)
	}
	if v := rdb.Get(ctx, "k:{t}:c").Val(); v != `{"N":40}` {
		t.Errorf("after 40 racing increments and a refused update the value is %s, want {\"N\":40}", v)
	}
}
