package console

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Finding 4: forty parallel wrong logins for one name are not forty
// bcrypt checks: the limit is checked and counted in one step, so exactly
// maxNameFailures are answered "wrong" and the rest are told to wait.
func TestParallelLoginsThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad, limited := 0, 0
	for range 40 {
		wg.Go(func() {
			_, err := b.console.acc.Login(b.ctx, "organizer-user", "wrong password!", "192.0.2.50")
			var le *LimitedError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrBadLogin):
				bad++
			case errors.As(err, &le):
				limited++
			default:
				t.Errorf("Login = %v", err)
			}
		})
	}
	wg.Wait()
	if bad != maxNameFailures || limited != 40-maxNameFailures {
		t.Errorf("40 parallel wrong logins: %d wrong, %d limited; want %d and %d", bad, limited, maxNameFailures, 40-maxNameFailures)
	}
}

// Finding 16: a refused login is audited, and counted in Redis, without
// the name as typed (it may be a password typed into the wrong field).
func TestFailedLoginNameNotStored(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const secret = "MyS3cretPassw0rd!"
	if r := b.browser(t).login(secret, "x"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login: %d, want 401", r.StatusCode)
	}
	entries, err := b.audit.Recent(b.ctx, 10)
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit: %v, %v", entries, err)
	}
	for _, e := range entries {
		if strings.Contains(strings.ToLower(e.Name), strings.ToLower(secret)) {
			t.Errorf("audit entry names %q", e.Name)
		}
	}
	keys, err := b.rdb.Keys(b.ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(strings.ToLower(k), strings.ToLower(secret)) {
			t.Errorf("Redis key %q holds the typed name", k)
		}
	}
}
