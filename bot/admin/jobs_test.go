package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/jobs"
)

func TestJobsAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Start(t)
	loc := time.FixedZone("CST", 8*3600)
	now := func() time.Time { return time.Date(2027, 5, 10, 7, 30, 0, 0, loc) }
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	progs := jobs.NewProgrammes(rdb, nil, loc)
	noop := func(context.Context, jobs.Tick) error { return nil }
	sched, err := jobs.New(rdb, []jobs.Job{
		{Name: jobs.AccountJob("daily-tip", "default"), Account: "default", Spec: "0 8 * * *", Run: noop},
		{Name: jobs.AccountJob("daily-tip", "agri"), Account: "agri", Spec: "0 9 * * *", Run: noop},
	}, jobs.Options{Loc: loc, Now: now, Programmes: progs})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(roleAuth(), nil)
	srv.SetAccounts([]string{"default", "agri"})
	RegisterJobs(srv, JobDeps{Scheduler: sched, Programmes: progs, Now: now,
		CheckAudience: func(expr string) error { _, err := segment.Parse(expr, tax); return err }})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	do := func(role, method, path, body string, wantStatus int, out any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, ts.URL+path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+role+"-token")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != wantStatus {
			var e map[string]any
			json.NewDecoder(res.Body).Decode(&e)
			t.Fatalf("%s %s = %d %v, want %d", method, path, res.StatusCode, e, wantStatus)
		}
		if out != nil {
			if err := json.NewDecoder(res.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
		}
	}

	var list []map[string]any
	do("viewer", "GET", "/api/v1/jobs", "", 200, &list)
	if len(list) != 1 || list[0]["name"] != "daily-tip:default" || list[0]["account"] != "default" || list[0]["spec"] != "0 8 * * *" ||
		list[0]["next_run"] != "2027-05-10T08:00:00+08:00" || list[0]["last_run"] != nil ||
		list[0]["last_outcome"] != "" || list[0]["paused"] != false {
		t.Errorf("GET /api/v1/jobs = %v", list)
	}
	var run map[string]any
	do("organizer", "POST", "/api/v1/jobs/daily-tip/run", "", 200, &run)
	if run["tick"] != "manual@2027-05-10T07:30:00+08:00" {
		t.Errorf("run = %v", run)
	}
	do("viewer", "POST", "/api/v1/jobs/daily-tip/run", "", 403, nil)
	// Each account lists and runs its own jobs only.
	do("viewer", "GET", "/api/v1/jobs?account=agri", "", 200, &list)
	if len(list) != 1 || list[0]["name"] != "daily-tip:agri" || list[0]["spec"] != "0 9 * * *" {
		t.Errorf("GET /api/v1/jobs?account=agri = %v", list)
	}
	do("organizer", "POST", "/api/v1/jobs/daily-tip:agri/pause", "", 404, nil)
	do("organizer", "POST", "/api/v1/jobs/daily-tip:agri/pause?account=agri", "", 200, nil)
	do("viewer", "GET", "/api/v1/jobs", "", 200, &list)
	if len(list) != 1 || list[0]["paused"] != false {
		t.Errorf("pausing agri's daily tip paused the default account's: %v", list)
	}
	do("organizer", "POST", "/api/v1/jobs/nope/run", "", 404, nil)
	var st map[string]any
	do("organizer", "POST", "/api/v1/jobs/daily-tip/pause", "", 200, &st)
	if st["paused"] != true || st["run_pending"] != true {
		t.Errorf("after pause: %v", st)
	}
	do("organizer", "POST", "/api/v1/jobs/daily-tip/resume", "", 200, &st)
	if st["paused"] != false {
		t.Errorf("after resume: %v", st)
	}

	do("organizer", "POST", "/api/v1/programmes", `{"name":"stem-monday","spec":"0 19 * * 1","audience":"group:youth","mode":"personalized"}`, 201, nil)
	do("organizer", "POST", "/api/v1/programmes", `{"name":"stem-monday","spec":"0 19 * * 1","audience":"","mode":"personalized"}`, 409, nil)
	do("organizer", "POST", "/api/v1/programmes", `{"name":"bad","spec":"0 25 * * *","audience":"","mode":"personalized"}`, 400, nil)
	do("organizer", "POST", "/api/v1/programmes", `{"name":"bad","spec":"@every 1h","audience":"","mode":"personalized"}`, 400, nil)
	do("organizer", "POST", "/api/v1/programmes", `{"name":"bad","spec":"0 9 * * *","audience":"group:(","mode":"personalized"}`, 400, nil)
	do("organizer", "POST", "/api/v1/programmes", `{"name":"bad","spec":"0 9 * * *","audience":"","mode":"item"}`, 400, nil)
	do("viewer", "GET", "/api/v1/jobs", "", 200, &list)
	if len(list) != 2 || list[1]["name"] != "programme:default:stem-monday" || list[1]["next_run"] != "2027-05-10T19:00:00+08:00" {
		t.Errorf("jobs with a programme = %v", list)
	}
	var progList []map[string]any
	do("viewer", "GET", "/api/v1/programmes", "", 200, &progList)
	if len(progList) != 1 || progList[0]["audience"] != "group:youth" {
		t.Errorf("programmes = %v", progList)
	}
	do("organizer", "DELETE", "/api/v1/programmes/stem-monday", "", 204, nil)
	do("organizer", "DELETE", "/api/v1/programmes/stem-monday", "", 404, nil)
	do("viewer", "GET", "/api/v1/jobs", "", 200, &list)
	if len(list) != 1 {
		t.Errorf("jobs after delete = %v", list)
	}
}
