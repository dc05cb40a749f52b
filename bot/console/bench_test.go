package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/profile/profiletest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// BenchmarkDashboard renders the dashboard (counts in Redis, the API
// calls for events, template, HTTP handler) with a whole district of
// subscribers: 1.5 M, or 20,000 with -short; 1 % of them followed over
// the last 30 days, 10 recent campaigns and 8 events with sign-ups. The
// goal is under 300 ms a render.
func BenchmarkDashboard(b *testing.B) {
	bd := setup(b)
	svc := bd.withSignups(b)
	n := profiletest.DistrictSize()
	profiletest.Populate(b, bd.ctx, bd.profiles, "default", n)
	now := bd.now
	for i := range n / 100 {
		id := fmt.Sprintf("oFollower%019d", i)
		at := now.Add(-time.Duration(i%(30*24)) * time.Hour)
		err := bd.profiles.Update(bd.ctx, "default", id, func(*profile.Profile) (*profile.Profile, error) {
			return &profile.Profile{OpenID: id, Group: profiletest.Groups[i%len(profiletest.Groups)],
				Town: profiletest.Towns[i%len(profiletest.Towns)], Subscribed: true, OptChangedAt: at, CreatedAt: at, LastActiveAt: at}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := range recentCampaigns {
		started := now.Add(-time.Duration(i) * 24 * time.Hour)
		if err := bd.camps.Create(bd.ctx, &campaign.Campaign{Account: "default", Name: fmt.Sprintf("第 %d 期科普推送", i+1),
			Mode: campaign.ModePersonalized, Status: campaign.StatusDone, CreatedAt: started, StartedAt: &started, Planned: int64(n / 2)}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range recentShown {
		ev, err := bd.content.CreateEvent(bd.ctx, "default", content.Event{Title: fmt.Sprintf("科普大讲坛第 %d 讲", i+1), Town: "licheng",
			StartsAt: now.AddDate(0, 0, i+1), EndsAt: now.AddDate(0, 0, i+1).Add(2 * time.Hour), Capacity: 200})
		if err != nil {
			b.Fatal(err)
		}
		if ev, err = bd.content.PublishEvent(bd.ctx, "default", ev.ID); err != nil {
			b.Fatal(err)
		}
		for j := range 150 {
			if _, err := svc.SignUp(bd.ctx, "default", ev, profiletest.OpenID(j), fmt.Sprintf("op%d-%d", i, j), "farmer|licheng"); err != nil {
				b.Fatal(err)
			}
		}
	}
	br := bd.browser(b)
	br.mustLogin("viewer-user")
	bd.benchPage(b, br, "/console/", n)
}

// benchPage renders path as br's user b.N times and reports the server
// time of one render.
func (bd *bundle) benchPage(b *testing.B, br *browser, path string, subscribers int) {
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: br.cookies[sessionCookie]})
	h := bd.console.Handler()
	var total time.Duration
	for b.Loop() {
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		total += time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s = %d", path, w.Code)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/render")
	b.ReportMetric(float64(subscribers), "subscribers")
}

// BenchmarkListPages renders the campaigns list (100 campaigns, each with
// its stats) and the segment builder (20 saved segments, each counted)
// over a whole district: 1.5 M subscribers, or 20,000 with -short. The
// goal is under 300 ms a render, like the dashboard.
func BenchmarkListPages(b *testing.B) {
	bd := setup(b)
	bd.addCampaigns(b)
	n := profiletest.DistrictSize()
	profiletest.Populate(b, bd.ctx, bd.profiles, "default", n)
	now := bd.now
	for i := range 100 {
		started := now.Add(-time.Duration(i) * time.Hour)
		c := &campaign.Campaign{Account: "default", Name: fmt.Sprintf("第 %d 期", i+1),
			Audience: "group:farmer", Mode: campaign.ModePersonalized, Status: campaign.StatusDone,
			CreatedAt: started, StartedAt: &started, Planned: int64(n / 5)}
		if err := bd.camps.Create(bd.ctx, c); err != nil {
			b.Fatal(err)
		}
		sentTo(b, bd, c.ID)
		if i == 0 {
			if st, err := bd.console.cfg.Engine.Stats(bd.ctx, c, nil, nil); err != nil || st.Sent < int64(n/5) || st.Clicks == 0 {
				b.Fatalf("a campaign's stats %+v, %v; want about %d sent to farmers, with clicks", st, err, n*3/10)
			}
		}
	}
	segs := segment.NewStore(bd.rdb, bd.tax)
	for i := range 20 {
		town := profiletest.Towns[i%len(profiletest.Towns)]
		group := profiletest.Groups[i%len(profiletest.Groups)]
		expr := fmt.Sprintf("group:%s & town:%s & active:30d | interest:litchi", group, town)
		if _, err := segs.Save(bd.ctx, "default", segment.Saved{Name: fmt.Sprintf("seg-%02d", i), Expr: expr}); err != nil {
			b.Fatal(err)
		}
	}
	br := bd.browser(b)
	br.mustLogin("organizer-user")
	for _, path := range []string{"/console/campaigns", "/console/segments"} {
		b.Run(path[len("/console/"):], func(b *testing.B) { bd.benchPage(b, br, path, n) })
	}
}

// sentTo gives campaign id the delivery log of a finished send to every
// farmer (30 % of the district): its audience, sent and mass-channel
// bitmaps are copies of the farmers' index, its clicks those in 荔城, so
// the list's stats count real bitmaps over the whole district.
func sentTo(b *testing.B, bd *bundle, id string) {
	b.Helper()
	copies := map[string]string{"aud": profile.GroupIndex("farmer"), "sent": profile.GroupIndex("farmer"),
		"ch:mass": profile.GroupIndex("farmer"), "click": profile.TownIndex("licheng")}
	pipe := bd.rdb.Pipeline()
	for shard := range profile.Shards {
		tag := fmt.Sprintf("kb:{default:%d}:ix:", shard)
		for name, from := range copies {
			pipe.Copy(bd.ctx, tag+from, tag+"c:"+id+":"+name, 0, true)
		}
	}
	if _, err := pipe.Exec(bd.ctx); err != nil {
		b.Fatal(err)
	}
}
