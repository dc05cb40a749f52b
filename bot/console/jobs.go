package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// jobRow is one scheduled job as the jobs page shows it.
type jobRow struct {
	Name, Title, Spec, Next, Last, Outcome, Error string
	Paused, Pending                               bool
}

type programmeRow struct {
	Name, Spec, Audience, Mode, Job string
}

type jobsView struct {
	Account    string
	Jobs       []jobRow
	Programmes []programmeRow
	CanOperate bool
	Done       string
}

var outcomeNames = map[string]string{"ok": "成功", "error": "失败", "": "尚未运行"}

// jobsPage serves GET /console/jobs: the scheduler's jobs (GET
// /api/v1/jobs) and the account's programmes (GET /api/v1/programmes).
func (c *Console) jobsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	var statuses []struct {
		Name        string     `json:"name"`
		Spec        string     `json:"spec"`
		NextRun     *time.Time `json:"next_run"`
		LastRun     *time.Time `json:"last_run"`
		LastOutcome string     `json:"last_outcome"`
		LastError   string     `json:"last_error"`
		Paused      bool       `json:"paused"`
		RunPending  bool       `json:"run_pending"`
	}
	if err := c.call(r.Context(), s, http.MethodGet, "/api/v1/jobs", nil, &statuses); err != nil {
		return apiFail(err)
	}
	v := jobsView{Account: account, CanOperate: mayOperate(s), Done: doneMessages[r.URL.Query().Get("done")]}
	for _, st := range statuses {
		// An account's own calendar job is shown (and addressed) by its
		// base name: daily-tip, not daily-tip:<account>.
		st.Name = strings.TrimSuffix(st.Name, ":"+account)
		out := outcomeNames[st.LastOutcome]
		if out == "" {
			out = st.LastOutcome
		}
		v.Jobs = append(v.Jobs, jobRow{Name: st.Name, Title: jobTitles[st.Name], Spec: st.Spec, Next: c.localTime(st.NextRun), Last: c.localTime(st.LastRun),
			Outcome: out, Error: st.LastError, Paused: st.Paused, Pending: st.RunPending})
	}
	var progs []programmeRow
	err := c.call(r.Context(), s, http.MethodGet, acctPath("/api/v1/programmes", account, nil), nil, &progs)
	if _, err := optional(err); err != nil {
		return apiFail(err)
	}
	v.Programmes = progs
	c.render(w, http.StatusOK, "jobs.html", view{Title: "定时任务", Session: s, Data: v})
	return nil
}

// jobSubmit serves POST /console/jobs/{name}/{run,pause,resume} through
// POST /api/v1/jobs/{name}/{verb}.
func (c *Console) jobSubmit(w http.ResponseWriter, r *http.Request, s *Session) error {
	verb := r.PathValue("verb")
	if verb != "run" && verb != "pause" && verb != "resume" {
		return &statusError{status: http.StatusNotFound, msg: "页面不存在"}
	}
	path := "/api/v1/jobs/" + url.PathEscape(r.PathValue("name")) + "/" + verb
	if err := c.call(r.Context(), s, http.MethodPost, path, nil, nil); err != nil {
		return apiFail(err)
	}
	redirectDone(w, r, "/console/jobs", admin.Account(r), verb)
	return nil
}

// jobTitles say what the service's scheduled jobs (cmd/kepubot) do; a
// programme's job has none and shows its name.
var jobTitles = map[string]string{
	"daily-tip":        "每日科普：给近 30 天活跃的关注者各推荐一条",
	"weekly-digest":    "每周精选",
	"farming-calendar": "农事节气提醒",
	"tag-sync":         "同步微信用户标签（全区群发用）",
	"feed-import":      "导入外部内容源（进入草稿待审）",
	"stats-rollup":     "每日统计汇总",
	"retention":        "清除超过保存期限的个人数据",
}

// campaignName is how the console shows a campaign's name: a scheduled
// job's campaign ("daily-tip daily-tip@2027-05-17T08:00:00+08:00") by the
// job's Chinese title and its local time, without internal ids; an
// organizer's own name as written.
func campaignName(name string, loc *time.Location) string {
	job, rest, _ := strings.Cut(name, " ")
	title, ok := jobTitles[job]
	if !ok {
		return name
	}
	title, _, _ = strings.Cut(title, "：")
	parts := []string{title}
	for _, f := range strings.Fields(rest) {
		if _, at, ok := strings.Cut(f, "@"); ok {
			if t, err := time.Parse(time.RFC3339, at); err == nil {
				parts = append(parts, t.In(loc).Format("2006-01-02 15:04"))
			} else {
				parts = append(parts, "手动运行")
			}
			continue
		}
		if internalIDRE.MatchString(f) || f == job {
			continue // an item's id: the campaign page shows its title
		}
		parts = append(parts, f)
	}
	return strings.Join(parts, " · ")
}

var internalIDRE = regexp.MustCompile(`^[a-z]+_[0-9]+$`)
