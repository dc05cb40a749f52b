package console

import (
	"net/http"
	"net/url"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// opsRoutes adds the pages of the scheduled jobs (jobs.go), dead letters
// (deadletters.go), demand log (demand.go) and CSV exports (exports.go).
// Every change goes through the admin API as the logged-in user; the
// page roles only mirror the API's, which decides.
func (c *Console) opsRoutes() {
	c.handle("GET /console/jobs", c.jobsPage, admin.Roles()...)
	c.handle("POST /console/jobs/{name}/{verb}", c.jobSubmit, admin.RoleOrganizer)
	c.handle("GET /console/deadletters", c.deadLettersPage, admin.RoleOrganizer, admin.RoleViewer)
	c.handle("POST /console/deadletters/{id}/retry", c.retrySubmit, admin.RoleOrganizer)
	c.handle("GET /console/demand", c.demandPage, admin.Roles()...)
	c.handle("GET /console/exports", c.exportsPage, admin.Roles()...)
	c.handle("GET /console/exports/{name}", c.exportFile, admin.Roles()...)
}

// mayOperate reports whether s may press the buttons of the jobs and dead
// letters (the API's organizer routes).
func mayOperate(s *Session) bool {
	return s.Role == admin.RoleAdmin || s.Role == admin.RoleOrganizer
}

// doneMessages are the confirmations a redirect after a POST shows
// (?done=<key>): fixed texts, never echoed input.
var doneMessages = map[string]string{
	"run":    "已安排立即运行，稍后刷新可看到结果。",
	"pause":  "已暂停该任务。",
	"resume": "已恢复该任务。",
	"retry":  "已重新排队，将再次尝试发送。",
	// alerts.go
	"alert_sent": "预警已审批，正在发送。",
	"alert_hold": "已暂停自动发送：新预警要审批后才发送。",
	"alert_auto": "已恢复自动发送。",
}

// accountQuery is the ?account= of a console URL (empty for none).
func accountQuery(account string) string {
	if account == "" {
		return ""
	}
	return "account=" + url.QueryEscape(account)
}

// redirectDone answers a successful POST with 303 to path, showing done.
func redirectDone(w http.ResponseWriter, r *http.Request, path, account, done string) {
	q := url.Values{"done": {done}}
	if account != "" {
		q.Set("account", account)
	}
	http.Redirect(w, r, path+"?"+q.Encode(), http.StatusSeeOther)
}

// localTime formats an optional time in the console's time zone.
func (c *Console) localTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "暂无"
	}
	return t.In(c.cfg.Now().Location()).Format("2006-01-02 15:04")
}
