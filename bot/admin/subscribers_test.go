package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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

// GET shows the interest weights by topic and the hour the subscriber
// usually reads at (null until known).
func TestGetSubscriberWeightsAndBestHour(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := profile.NewStore(ctx, redistest.Start(t), sh)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"oW1", "oW2"} {
		if err := ps.Update(ctx, "default", o, func(*profile.Profile) (*profile.Profile, error) {
			p := &profile.Profile{OpenID: o, Subscribed: true, CreatedAt: time.Now()}
			if o == "oW1" {
				p.SetInterest("litchi", 230)
				p.SetInterest("rice", 0)
				p.TouchMessage(time.Date(2027, 5, 17, 20, 5, 0, 0, sh))
			}
			return p, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	s := NewServer(roleAuth(), nil)
	s.SetAccounts([]string{"default"})
	RegisterSubscribers(s, ps)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	b := &segmentBundle{srv: srv}
	tests := []struct {
		openID string
		want   string
	}{
		{"oW1", `"best_hour":20`},
		{"oW1", `"interest_weights":{"litchi":230,"rice":0}`},
		{"oW2", `"best_hour":null`},
	}
	for _, tt := range tests {
		code, body := b.do(t, "organizer", "GET", "/api/v1/subscribers/"+tt.openID, "")
		if got := fmt.Sprint(body); code != http.StatusOK || !strings.Contains(rawJSON(t, body), tt.want) {
			t.Errorf("GET %s = %d %s, want %s", tt.openID, code, got, tt.want)
		}
	}
}

func rawJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
