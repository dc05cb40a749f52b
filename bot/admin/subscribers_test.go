package admin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

type eraseRecorder struct{ erased []string }

func (e *eraseRecorder) Erase(_ context.Context, account, openID string) error {
	e.erased = append(e.erased, account+"/"+openID)
	return nil
}

// Finding 13: an admin's DELETE erases what 删除我的数据 erases (sign-ups,
// quiz answers through the erasers), not only the profile; a malformed
// openid is a 404 that touches nothing.
func TestDeleteSubscriberRunsErasers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Start(t)
	ps, err := profile.NewStore(ctx, rdb, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.Update(ctx, "default", "oDel", func(*profile.Profile) (*profile.Profile, error) {
		return &profile.Profile{OpenID: "oDel", Subscribed: true, CreatedAt: time.Now()}, nil
	}); err != nil {
		t.Fatal(err)
	}
	rec := &eraseRecorder{}
	s := NewServer(roleAuth(), nil)
	s.SetAccounts([]string{"default"})
	RegisterSubscribers(s, ps, rec)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	b := &segmentBundle{srv: srv}
	if code, body := b.do(t, "admin", "DELETE", "/api/v1/subscribers/o%7Bx%7D", ""); code != http.StatusNotFound || len(rec.erased) != 0 {
		t.Errorf("DELETE malformed openid = %d %v, erasers ran for %v; want 404 and none", code, body, rec.erased)
	}
	if code, body := b.do(t, "admin", "DELETE", "/api/v1/subscribers/oDel", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE = %d %v", code, body)
	}
	if len(rec.erased) != 1 || rec.erased[0] != "default/oDel" {
		t.Errorf("erasers ran for %v, want default/oDel", rec.erased)
	}
	if p, _, _ := ps.Get(ctx, "default", "oDel"); p != nil {
		t.Errorf("profile after DELETE: %+v", p)
	}
}
