package console

import (
	"net/http"
	"net/url"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// jobRow is one scheduled job as the jobs page shows it.
type jobRow struct {
	Name, Spec, Next, Last, Outcome, Error string
	Paused, Pending                        bool
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
		out := outcomeNames[st.LastOutcome]
		if out == "" {
			out = st.LastOutcome
		}
		v.Jobs = append(v.Jobs, jobRow{Name: st.Name, Spec: st.Spec, Next: c.localTime(st.NextRun), Last: c.localTime(st.LastRun),
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
