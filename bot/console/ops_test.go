package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/demand"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/jobs"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// withJobs adds the scheduler routes with one job, daily-tip, and one
// programme.
func (b *bundle) withJobs(tb testing.TB) *jobs.Scheduler {
	tb.Helper()
	clock := func() time.Time { return b.now }
	progs := jobs.NewProgrammes(b.rdb, nil, time.UTC)
	sched, err := jobs.New(b.rdb, []jobs.Job{{Name: jobs.AccountJob("daily-tip", "default"), Account: "default", Spec: "0 8 * * *",
		Run: func(context.Context, jobs.Tick) error { return nil }}}, jobs.Options{Loc: time.UTC, Now: clock, Programmes: progs})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := progs.Save(b.ctx, jobs.Programme{Account: "default", Name: "weekly-farmers", Spec: "0 9 * * 1",
		Audience: "group:farmer", Mode: campaign.ModePersonalized, CreatedAt: b.now}); err != nil {
		tb.Fatal(err)
	}
	admin.RegisterJobs(b.api, admin.JobDeps{Scheduler: sched, Programmes: progs, Now: clock,
		CheckAudience: func(expr string) error { _, err := segment.Parse(expr, b.tax); return err }})
	return sched
}

func TestJobsPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sched := b.withJobs(t)
	status := func() jobs.Status {
		t.Helper()
		st, err := sched.Status(b.ctx, jobs.AccountJob("daily-tip", "default"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	viewer := b.browser(t)
	viewer.mustLogin("viewer-user")
	page := viewer.do("GET", "/console/jobs", nil)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "daily-tip") || !strings.Contains(page.body, "0 8 * * *") ||
		!strings.Contains(page.body, "weekly-farmers") || !strings.Contains(page.body, "2026-11-29 08:00") {
		t.Fatalf("jobs page for a viewer = %d, want daily-tip next at 2026-11-29 08:00 and the programme:\n%s", page.StatusCode, page.body)
	}
	if strings.Contains(page.body, "/console/jobs/daily-tip/run") {
		t.Error("a viewer's jobs page offers run now")
	}
	// A viewer's POSTs are refused and change nothing.
	csrf := viewer.csrf(page.body)
	for _, verb := range []string{"run", "pause"} {
		if r := viewer.do("POST", "/console/jobs/daily-tip/"+verb, url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s = %d, want 403", verb, r.StatusCode)
		}
	}
	if st := status(); st.Paused || st.RunPending {
		t.Errorf("after a viewer's POSTs, status = %+v, want not paused, no run pending", st)
	}

	org := b.browser(t)
	org.mustLogin("organizer-user")
	page = org.do("GET", "/console/jobs", nil)
	csrf = org.csrf(page.body)
	if !strings.Contains(page.body, `action="/console/jobs/daily-tip/run"`) || !strings.Contains(page.body, `action="/console/jobs/daily-tip/pause"`) {
		t.Fatalf("organizer's jobs page lacks run and pause:\n%s", page.body)
	}
	// Without the CSRF token: refused.
	if r := org.do("POST", "/console/jobs/daily-tip/pause", url.Values{}); r.StatusCode != http.StatusForbidden || status().Paused {
		t.Errorf("POST pause without csrf = %d, paused %v; want 403, not paused", r.StatusCode, status().Paused)
	}
	r := org.do("POST", "/console/jobs/daily-tip/run", url.Values{"csrf": {csrf}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/jobs?account=default&done=run" || !status().RunPending {
		t.Errorf("POST run = %d %q, run pending %v; want 303 to /console/jobs?done=run, pending", r.StatusCode, r.Header.Get("Location"), status().RunPending)
	}
	if r := org.do("POST", "/console/jobs/daily-tip/pause", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther || !status().Paused {
		t.Errorf("POST pause = %d, paused %v; want 303, paused", r.StatusCode, status().Paused)
	}
	page = org.do("GET", "/console/jobs?done=pause", nil)
	if !strings.Contains(page.body, "已暂停该任务") || !strings.Contains(page.body, `<span class="paused">已暂停</span>`) ||
		!strings.Contains(page.body, `action="/console/jobs/daily-tip/resume"`) {
		t.Errorf("jobs page after pause lacks the confirmation, the paused state or resume:\n%s", page.body)
	}
	if r := viewer.do("POST", "/console/jobs/daily-tip/resume", url.Values{"csrf": {viewer.csrf(viewer.do("GET", "/console/jobs", nil).body)}}); r.StatusCode != http.StatusForbidden || !status().Paused {
		t.Errorf("viewer POST resume = %d, paused %v; want 403, still paused", r.StatusCode, status().Paused)
	}
	if r := org.do("POST", "/console/jobs/daily-tip/resume", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther || status().Paused {
		t.Errorf("POST resume = %d, paused %v; want 303, running", r.StatusCode, status().Paused)
	}
	if r := org.do("POST", "/console/jobs/no-such-job/pause", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("POST pause of an unknown job = %d, want 404", r.StatusCode)
	}
}

// deadLetterFixture registers the dead-letter routes over a queue with
// one dead letter and returns the queue.
func (b *bundle) withDeadLetter(t *testing.T) *queue.Queue {
	t.Helper()
	q, err := queue.New(b.rdb, queue.Options{Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	admin.RegisterCampaigns(b.api, admin.CampaignDeps{Store: b.camps, Queue: func(string) *queue.Queue { return q },
		Now: func() time.Time { return b.now }})
	if err := q.Enqueue(b.ctx, queue.Job{ID: "camp7:s0:c3", Kind: "send", Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan error, 1)
	go func() {
		done <- q.Run(ctx, "w", 1, queue.HandlerFunc(func(context.Context, queue.Job) error {
			return queue.Permanent(errors.New("wechat 45015: response out of time limit"))
		}))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		dl, err := q.DeadLetters(b.ctx, 10)
		if err == nil && len(dl) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no dead letter within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	return q
}

func TestDeadLettersPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.withDeadLetter(t)
	dl, _ := q.DeadLetters(b.ctx, 10)
	id := dl[0].ID

	editor := b.browser(t)
	editor.mustLogin("editor-user")
	if r := editor.do("GET", "/console/deadletters", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("editor GET /console/deadletters = %d, want 403", r.StatusCode)
	}

	viewer := b.browser(t)
	viewer.mustLogin("viewer-user")
	page := viewer.do("GET", "/console/deadletters", nil)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "camp7:s0:c3") || !strings.Contains(page.body, "45015") {
		t.Fatalf("viewer's dead letters = %d, want the letter:\n%s", page.StatusCode, page.body)
	}
	if strings.Contains(page.body, "/retry") {
		t.Error("a viewer's dead-letter page offers retry")
	}
	if r := viewer.do("POST", "/console/deadletters/"+id+"/retry", url.Values{"csrf": {viewer.csrf(page.body)}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST retry = %d, want 403", r.StatusCode)
	}
	if dl, _ := q.DeadLetters(b.ctx, 10); len(dl) != 1 {
		t.Errorf("after a viewer's retry, %d dead letters, want 1", len(dl))
	}

	org := b.browser(t)
	org.mustLogin("organizer-user")
	page = org.do("GET", "/console/deadletters", nil)
	if !strings.Contains(page.body, `action="/console/deadletters/`+id+`/retry"`) {
		t.Fatalf("organizer's dead letters lack retry:\n%s", page.body)
	}
	r := org.do("POST", "/console/deadletters/"+id+"/retry", url.Values{"csrf": {org.csrf(page.body)}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/deadletters?account=default&done=retry" {
		t.Errorf("POST retry = %d %q, want 303 to /console/deadletters?done=retry", r.StatusCode, r.Header.Get("Location"))
	}
	if dl, _ := q.DeadLetters(b.ctx, 10); len(dl) != 0 {
		t.Errorf("after retry, %d dead letters, want 0", len(dl))
	}
	if st, _ := q.Stats(b.ctx); st.Ready[queue.LaneBulk] != 1 {
		t.Errorf("after retry, ready = %v, want the job queued again", st.Ready)
	}
	page = org.do("GET", "/console/deadletters?account=default&done=retry", nil)
	if !strings.Contains(page.body, "已重新排队") || !strings.Contains(page.body, "没有失败任务") {
		t.Errorf("dead letters after retry lack the confirmation or the empty list")
	}
	if r := org.do("POST", "/console/deadletters/"+id+"/retry", url.Values{"csrf": {org.csrf(page.body)}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("second retry = %d, want 404", r.StatusCode)
	}
}

// withDemand adds the demand route and records searches.
func (b *bundle) withDemand(t *testing.T) {
	t.Helper()
	log := demand.New(b.rdb, time.UTC)
	admin.RegisterDemand(b.api, admin.DemandDeps{Log: log, Tax: b.tax, Now: func() time.Time { return b.now }})
	log.Record(b.ctx, "default", []string{"荔枝", "施肥"}, "farmer", "paitan", b.now)
	log.Record(b.ctx, "default", []string{"荔枝"}, "farmer", "paitan", b.now.AddDate(0, 0, -1))
	log.Record(b.ctx, "default", []string{"台风"}, "resident", "xintang", b.now.AddDate(0, 0, -2))
	log.Record(b.ctx, "default", []string{"中考"}, "youth", "licheng", b.now.AddDate(0, 0, -20))
}

func TestDemandPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.withDemand(t)
	br := b.browser(t)
	br.mustLogin("editor-user")
	page := br.do("GET", "/console/demand", nil)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET /console/demand = %d:\n%s", page.StatusCode, page.body)
	}
	section := func(attr string) string {
		i := strings.Index(page.body, attr)
		if i < 0 {
			t.Fatalf("demand page lacks %s:\n%s", attr, page.body)
		}
		j := strings.Index(page.body[i:], "</table>")
		return page.body[i : i+j]
	}
	if s := section(`data-town="paitan"`); !strings.Contains(s, "<th>荔枝</th><td>2</td>") || !strings.Contains(s, "<th>施肥</th><td>1</td>") || strings.Contains(s, "台风") {
		t.Errorf("派潭's words = %s, want 荔枝 2, 施肥 1, no 台风", s)
	}
	if s := section(`data-town="xintang"`); !strings.Contains(s, "<th>台风</th><td>1</td>") || strings.Contains(s, "荔枝") {
		t.Errorf("新塘's words = %s, want 台风 only", s)
	}
	if s := section(`data-group="farmer"`); !strings.Contains(s, "<th>荔枝</th><td>2</td>") {
		t.Errorf("farmers' words = %s, want 荔枝 2", s)
	}
	if s := section(`id="table-demand"`); !strings.Contains(s, "<th>荔枝</th><td>2</td>") || strings.Contains(s, "中考") {
		t.Errorf("7-day words = %s, want 荔枝 2 and not 中考 (20 days ago)", s)
	}
	page = br.do("GET", "/console/demand?days=30", nil)
	if !strings.Contains(page.body, "<th>中考</th><td>1</td>") || !strings.Contains(page.body, `<option value="30" selected>`) {
		t.Errorf("30-day demand page lacks 中考 or the selected window")
	}
}

// readCSV checks an export: 200, an attachment of text/csv, the BOM,
// parseable CSV, no openid. It returns the records.
func readCSV(t *testing.T, br *browser, path string, openids []string) [][]string {
	t.Helper()
	r := br.do("GET", path, nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d:\n%s", path, r.StatusCode, r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("GET %s Content-Type = %q, want text/csv; charset=utf-8", path, ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") {
		t.Errorf("GET %s Content-Disposition = %q, want an attachment", path, cd)
	}
	body, ok := strings.CutPrefix(r.body, "\uFEFF")
	if !ok {
		t.Errorf("GET %s does not start with the UTF-8 BOM", path)
	}
	for _, id := range openids {
		if strings.Contains(body, id) {
			t.Errorf("GET %s contains the openid %s", path, id)
		}
	}
	recs, err := csv.NewReader(bytes.NewReader([]byte(body))).ReadAll()
	if err != nil {
		t.Fatalf("GET %s is not CSV: %v", path, err)
	}
	return recs
}

func TestExports(t *testing.T) {
	t.Parallel()
	b := setup(t)
	svc := b.withSignups(t)
	b.withDemand(t)
	var openids []string
	var ps []*profile.Profile
	for i := range 6 {
		id := "oExport" + strings.Repeat("z", 20) + string(rune('a'+i))
		openids = append(openids, id)
		ps = append(ps, &profile.Profile{OpenID: id, Group: "farmer", Town: "paitan", Subscribed: true, CreatedAt: b.now, LastActiveAt: b.now})
	}
	if _, err := b.profiles.Import(b.ctx, "default", ps); err != nil {
		t.Fatal(err)
	}
	started := b.now
	if err := b.camps.Create(b.ctx, &campaign.Campaign{Account: "default", Name: "荔枝花期管理", Mode: campaign.ModeItem,
		Status: campaign.StatusDone, CreatedAt: b.now, StartedAt: &started, Planned: 6}); err != nil {
		t.Fatal(err)
	}
	ev, err := b.content.CreateEvent(b.ctx, "default", content.Event{Title: "全国科普日·科学实验秀", Town: "paitan",
		StartsAt: b.now.AddDate(0, 0, 5), EndsAt: b.now.AddDate(0, 0, 5).Add(time.Hour), Capacity: 10})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err = b.content.PublishEvent(b.ctx, "default", ev.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SignUp(b.ctx, "default", ev, openids[0], "op1", "farmer|paitan"); err != nil {
		t.Fatal(err)
	}

	br := b.browser(t)
	br.mustLogin("viewer-user") // read-only users may download
	page := br.do("GET", "/console/exports", nil)
	for _, want := range []string{"/console/exports/subscribers.csv", "/console/exports/demand.csv?days=30", "/console/exports/campaigns.csv",
		"/console/exports/event-" + ev.ID + ".csv", "全国科普日·科学实验秀"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("exports page lacks %q", want)
		}
	}

	subs := readCSV(t, br, "/console/exports/subscribers.csv", openids)
	if len(subs) != 2+len(b.tax.Towns) || subs[0][0] != "镇街代码" || subs[0][len(subs[0])-2] != "常住人口（约数）" {
		t.Fatalf("subscribers.csv = %v, want a header, %d towns and a total", subs, len(b.tax.Towns))
	}
	for _, rec := range subs[1 : len(subs)-1] {
		tw, _ := b.tax.Town(rec[0])
		if rec[len(rec)-2] != i64(tw.Population) {
			t.Errorf("subscribers.csv %s population = %s, want %d", rec[0], rec[len(rec)-2], tw.Population)
		}
		if rec[0] == "paitan" && rec[len(rec)-4] != "6" {
			t.Errorf("subscribers.csv paitan total = %s, want 6", rec[len(rec)-4])
		}
	}
	dem := readCSV(t, br, "/console/exports/demand.csv?days=7", openids)
	found := false
	for _, rec := range dem {
		if rec[0] == "镇街" && rec[1] == "paitan" && rec[4] == "荔枝" && rec[5] == "2" {
			found = true
		}
		if rec[4] == "中考" {
			t.Errorf("demand.csv?days=7 has 中考, searched 20 days ago")
		}
	}
	if !found {
		t.Errorf("demand.csv = %v, want 派潭 荔枝 2", dem)
	}
	camps := readCSV(t, br, "/console/exports/campaigns.csv", openids)
	if len(camps) != 2 || camps[1][1] != "荔枝花期管理" || camps[1][2] != "已完成" || camps[1][5] != "6" {
		t.Errorf("campaigns.csv = %v, want 荔枝花期管理 done, 6 planned", camps)
	}
	evs := readCSV(t, br, "/console/exports/event-"+ev.ID+".csv", openids)
	if len(evs) < 2 || evs[0][0] != "dimension" {
		t.Errorf("event csv = %v, want the statistics", evs)
	}
	if r := br.do("GET", "/console/exports/passwords.csv", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET an unknown export = %d, want 404", r.StatusCode)
	}
}
