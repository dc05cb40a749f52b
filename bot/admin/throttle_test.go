package admin

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// Finding 4: reserving an attempt is atomic: of many parallel attempts
// exactly Free get through, the rest wait; after the delay one more may
// try, and the delay doubles.
func TestThrottleParallelAttempts(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t)
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	th := NewThrottle(rdb, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	c := Counter{Key: "kb:{t}:fail:x", Free: 5, Base: time.Second}
	var wg sync.WaitGroup
	var passed, waited int
	for range 40 {
		wg.Go(func() {
			wait, err := th.Reserve(t.Context(), c)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case wait == 0:
				passed++
			default:
				waited++
			}
		})
	}
	wg.Wait()
	if passed != 5 || waited != 35 {
		t.Fatalf("40 parallel attempts: %d through, %d told to wait; want 5 and 35", passed, waited)
	}
	for i, d := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if w, _ := th.Wait(t.Context(), c); w != d {
			t.Errorf("attempt %d: Wait = %s, want %s", 6+i, w, d)
		}
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
		if w, err := th.Reserve(t.Context(), c); w != 0 || err != nil {
			t.Fatalf("attempt %d after its delay: wait %s, %v", 6+i, w, err)
		}
	}
}

// Finding 14: wrong bearer tokens from one address are slowed down (429
// with Retry-After); another address is not.
func TestWrongBearerTokensThrottled(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t)
	s := NewServer(BootstrapAdmin("0123456789abcdef-admin", nil), nil)
	s.SetAccounts([]string{"default"})
	s.ThrottleTokens(NewThrottle(rdb, nil), ClientIP(nil))
	s.Handle("GET /api/v1/thing", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		return map[string]string{"ok": "yes"}, nil
	})
	call := func(token, addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/v1/thing", nil)
		req.RemoteAddr = addr
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	for i := range maxTokenFailures {
		if r := call("guess", "198.51.100.9:1"); r.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, r.Code)
		}
	}
	r := call("0123456789abcdef-admin", "198.51.100.9:1")
	if r.Code != http.StatusTooManyRequests || r.Header().Get("Retry-After") == "" {
		t.Errorf("after %d wrong tokens: %d (Retry-After %q), want 429", maxTokenFailures, r.Code, r.Header().Get("Retry-After"))
	}
	if r := call("0123456789abcdef-admin", "203.0.113.1:1"); r.Code != http.StatusOK {
		t.Errorf("another address: %d, want 200", r.Code)
	}
}
