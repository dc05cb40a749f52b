package admin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign/campaigntest"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// campaignAPI is the campaign routes over a real engine and Redis, with
// one published item it1 and no WeChat.
type campaignAPI struct {
	*segmentBundle
	ctx      context.Context
	now      time.Time
	store    *campaign.Store
	profiles *profile.Store
}

func setupCampaigns(t *testing.T) *campaignAPI {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.Start(t)
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2027, 5, 10, 9, 0, 0, 0, loc)
	clock := func() time.Time { return now }
	ps, err := profile.NewStore(ctx, rdb, loc)
	if err != nil {
		t.Fatal(err)
	}
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(rdb, queue.Options{Name: "default", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	items := campaigntest.Items{"it1": {ID: "it1", Title: "荔枝花期管理", Status: content.StatusPublished}}
	compile := func(expr string, at time.Time) (profile.Program, error) {
		e, err := segment.Parse(expr, tax)
		if err != nil {
			return nil, err
		}
		return e.Compile(at, loc), nil
	}
	store := campaign.NewStore(rdb)
	engine := campaign.New(campaign.Config{Store: store, Profiles: ps, Items: items, Compile: compile,
		Queue: func(string) *queue.Queue { return q }, Loc: loc, Now: clock,
		Sender: func(string) (campaign.Sender, error) { return nil, errors.New("no WeChat in this test") },
		Rules:  func(string) plan.Rules { return plan.Rules{AccountType: plan.ServiceAccount, Loc: loc} }})
	s := NewServer(roleAuth(), nil)
	s.SetAccounts([]string{"default"})
	RegisterCampaigns(s, CampaignDeps{Store: store, Engine: engine, Compile: compile, Now: clock,
		Item: items.Item, Queue: func(string) *queue.Queue { return q }})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &campaignAPI{segmentBundle: &segmentBundle{srv: srv}, ctx: ctx, now: now, store: store, profiles: ps}
}

func TestCampaignSchedule(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	ctx, now, store := b.ctx, b.now, b.store

	code, body := b.do(t, "organizer", "POST", "/api/v1/campaigns", `{"name":"荔枝","audience":"group:farmer","item_id":"it1"}`)
	if code != http.StatusCreated || body["status"] != "draft" {
		t.Fatalf("create = %d %v, want 201 draft", code, body)
	}
	id := body["id"].(string)
	path := "/api/v1/campaigns/" + id + "/schedule"
	later := now.Add(3 * time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		name, role, body string
		want             int
	}{
		{"viewer", "viewer", `{"send_at":"` + later + `"}`, http.StatusForbidden},
		{"no time", "organizer", `{}`, http.StatusBadRequest},
		{"in the past", "organizer", `{"send_at":"` + now.Add(-time.Minute).Format(time.RFC3339) + `"}`, http.StatusBadRequest},
		{"unknown field", "organizer", `{"send_at":"` + later + `","x":1}`, http.StatusBadRequest},
	} {
		if code, body := b.do(t, tc.role, "POST", path, tc.body); code != tc.want {
			t.Errorf("%s: schedule = %d %v, want %d", tc.name, code, body, tc.want)
		}
	}
	if c, _ := store.Get(ctx, "default", id); c.Status != campaign.StatusDraft || c.SendAt != nil {
		t.Fatalf("after refused schedules: %s %v, want an unscheduled draft", c.Status, c.SendAt)
	}
	code, body = b.do(t, "organizer", "POST", path, `{"send_at":"`+later+`"}`)
	if code != http.StatusOK || body["status"] != "scheduled" {
		t.Fatalf("schedule = %d %v, want 200 scheduled", code, body)
	}
	c, err := store.Get(ctx, "default", id)
	if err != nil || c.Status != campaign.StatusScheduled || c.SendAt == nil || !c.SendAt.Equal(now.Add(3*time.Hour)) {
		t.Fatalf("stored = %+v, %v; want scheduled at %v", c, err, now.Add(3*time.Hour))
	}
	if code, _ := b.do(t, "organizer", "POST", path, `{"send_at":"`+later+`"}`); code != http.StatusConflict {
		t.Errorf("schedule a scheduled campaign = %d, want 409", code)
	}
	// It can still be cancelled before it starts.
	if code, body := b.do(t, "organizer", "POST", "/api/v1/campaigns/"+id+"/cancel", ``); code != http.StatusOK || body["status"] != "cancelled" {
		t.Errorf("cancel a scheduled campaign = %d %v, want 200 cancelled", code, body)
	}
}

// TestCampaignDepartment: a campaign is the creating user's department's
// unless it names another; a department over 40 characters is refused.
func TestCampaignDepartment(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	tests := []struct {
		name, role, dept string
		want             int
		wantDept         string
	}{
		{"the organizer's own", "organizer", "", http.StatusCreated, "科协科普部"},
		{"named", "organizer", ` "department":" 农业农村局 ",`, http.StatusCreated, "农业农村局"},
		{"an admin without one", "admin", "", http.StatusCreated, ""},
		{"too long", "organizer", ` "department":"` + strings.Repeat("部", 41) + `",`, http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		code, body := b.do(t, tc.role, "POST", "/api/v1/campaigns", `{`+tc.dept+`"name":"荔枝","audience":"group:farmer","item_id":"it1"}`)
		if code != tc.want {
			t.Errorf("%s: create = %d %v, want %d", tc.name, code, body, tc.want)
			continue
		}
		if code != http.StatusCreated {
			continue
		}
		c, err := b.store.Get(b.ctx, "default", body["id"].(string))
		if err != nil || c.Department != tc.wantDept {
			t.Errorf("%s: stored department = %q (%v), want %q", tc.name, c.Department, err, tc.wantDept)
		}
		if got, _ := body["department"].(string); got != tc.wantDept {
			t.Errorf("%s: answered department = %q, want %q", tc.name, got, tc.wantDept)
		}
	}
}
