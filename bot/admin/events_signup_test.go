package admin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/signup"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// fakeQR creates QR codes the way WeChat answers, counting the calls.
type fakeQR struct{ calls atomic.Int64 }

func (f *fakeQR) CreateQRCode(_ context.Context, scene string, temporary bool, expire time.Duration) (wechat.QRCode, error) {
	f.calls.Add(1)
	return wechat.QRCode{Ticket: "tk-" + scene, URL: "http://weixin.qq.com/q/" + scene}, nil
}

// TestEventSignupRoutes: counts, the check-in code (made once), a clone to
// next year and the CSV statistics.
func TestEventSignupRoutes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Start(t)
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	loc := signup.Shanghai()
	profiles, err := profile.NewStore(ctx, rdb, loc)
	if err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(rdb, queue.Options{Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	events := content.NewStore(rdb, nil)
	svc, err := signup.New(signup.Config{Redis: rdb, Events: events, Profiles: profiles, Scenes: qrcode.NewStore(rdb), Tax: tax,
		Queue: func(string) *queue.Queue { return q }})
	if err != nil {
		t.Fatal(err)
	}
	qr := &fakeQR{}
	s := admin.NewServer(admin.BootstrapAdmin(bootToken, nil), nil)
	s.SetAccounts([]string{"default"})
	admin.RegisterContent(s, admin.ContentDeps{Store: events, Vocab: taxVocab{tax}})
	admin.RegisterSignups(s, admin.SignupDeps{Signups: svc, Events: events,
		WeChat: func(string) (admin.QRCreator, error) { return qr, nil }})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	api := &contentAPI{t: t, url: srv.URL, rdb: rdb}

	start := time.Now().In(loc).AddDate(0, 1, 0).Truncate(time.Hour)
	ev := api.must(http.StatusCreated, "POST", "/api/v1/events", bootToken, map[string]any{
		"title": "全国科普日·科学实验秀", "starts_at": start, "ends_at": start.Add(2 * time.Hour),
		"town": "licheng", "audience": "group:youth", "capacity": 100, "reminders": []string{"24h", "1h"},
	})
	id := ev["id"].(string)
	api.must(http.StatusOK, "POST", "/api/v1/events/"+id+"/publish", bootToken, nil)

	got := api.must(http.StatusOK, "GET", "/api/v1/events/"+id+"/signups", bootToken, nil)
	if got["id"] != id || got["code"] != ev["code"] || got["capacity"] != float64(100) || got["confirmed"] != float64(0) ||
		got["waitlisted"] != float64(0) || got["attended"] != float64(0) {
		t.Errorf("GET signups = %v", got)
	}
	if code, _ := api.do("GET", "/api/v1/events/ev_999/signups", bootToken, nil); code != http.StatusNotFound {
		t.Errorf("GET signups of a missing event = %d, want 404", code)
	}

	first := api.must(http.StatusOK, "GET", "/api/v1/events/"+id+"/qrcode", bootToken, nil)
	second := api.must(http.StatusOK, "GET", "/api/v1/events/"+id+"/qrcode", bootToken, nil)
	if first["scene"] != signup.SceneID(id) || first["ticket"] == "" || first["url"] == "" || second["ticket"] != first["ticket"] {
		t.Errorf("GET qrcode = %v then %v", first, second)
	}
	if n := qr.calls.Load(); n != 1 {
		t.Errorf("WeChat asked for %d QR codes, want 1", n)
	}
	sc, err := qrcode.NewStore(rdb).Get(ctx, "default", signup.SceneID(id))
	if err != nil || sc.Event != id || sc.Town != "licheng" || sc.Group != "youth" {
		t.Errorf("scene = %+v, %v", sc, err)
	}

	year := start.Year() + 1
	clone := api.must(http.StatusCreated, "POST", "/api/v1/events/"+id+"/clone", bootToken, map[string]int{"year": year})
	cs, _ := time.Parse(time.RFC3339, clone["starts_at"].(string))
	if clone["id"] == id || clone["code"] == ev["code"] || clone["status"] != "draft" ||
		cs.In(loc).Year() != year || cs.In(loc).Month() != start.Month() || cs.In(loc).Hour() != start.Hour() {
		t.Errorf("clone = %v", clone)
	}

	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/events/"+id+"/stats?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+bootToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "dimension,key,invited,signed_up") {
		t.Errorf("GET stats.csv = %d %q", resp.StatusCode, body)
	}
}
