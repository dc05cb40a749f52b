package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// alertRow is one hazard alert as GET /api/v1/alerts answers it.
type alertRow struct {
	ID         string     `json:"id"`
	MsgType    string     `json:"msg_type"`
	Event      string     `json:"event"`
	Headline   string     `json:"headline"`
	Colour     string     `json:"colour"`
	Urgent     bool       `json:"urgent"`
	Towns      []string   `json:"towns"`
	Sent       time.Time  `json:"sent"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason"`
	CampaignID string     `json:"campaign_id"`
	Reach      int64      `json:"reach"`
	ApprovedBy string     `json:"approved_by"`
	SentAt     *time.Time `json:"sent_at"`

	TownNames string `json:"-"`
}

type alertsView struct {
	Account    string
	Alerts     []alertRow
	Hold       bool
	CanOperate bool
	Done       string
}

// Names of an alert's message type, status and skip reason.
var (
	alertTypes    = map[string]string{"Alert": "发布", "Update": "更新", "Cancel": "解除"}
	alertStatuses = map[string]string{"held": "等待审批", "approved": "发送中", "sent": "已发送", "skipped": "未发送"}
	alertReasons  = map[string]string{"not_actual": "演练或测试", "expired": "到达时已过期", "outside_district": "不涉及本区镇街", "no_original": "原预警未在本号发送"}
)

func (c *Console) alertRoutes() {
	c.handle("GET /console/alerts", c.alertsPage, admin.Roles()...)
	c.handle("POST /console/alerts/{id}/approve", c.alertApproveSubmit, admin.RoleOrganizer)
	c.handle("POST /console/alerts/hold", c.alertHoldSubmit, admin.RoleOrganizer)
}

// alertsPage serves GET /console/alerts: the hazard alerts taken in, with
// whom they reached, an approve button for held ones and the hold switch.
func (c *Console) alertsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	var rows []alertRow
	if err := c.call(r.Context(), s, http.MethodGet, acctPath("/api/v1/alerts", account, nil), nil, &rows); err != nil {
		return apiFail(err)
	}
	var settings struct {
		Hold bool `json:"hold"`
	}
	if err := c.call(r.Context(), s, http.MethodGet, acctPath("/api/v1/alerts/settings", account, nil), nil, &settings); err != nil {
		return apiFail(err)
	}
	for i := range rows {
		var names []string
		for _, id := range rows[i].Towns {
			if tw, ok := c.cfg.Tax.Town(id); ok {
				names = append(names, tw.Name)
			}
		}
		rows[i].TownNames = strings.Join(names, "、")
		rows[i].MsgType = nameOr(alertTypes, rows[i].MsgType)
		rows[i].Reason = nameOr(alertReasons, rows[i].Reason)
		rows[i].Status = nameOr(alertStatuses, rows[i].Status)
	}
	v := alertsView{Account: account, Alerts: rows, Hold: settings.Hold, CanOperate: mayOperate(s), Done: doneMessages[r.URL.Query().Get("done")]}
	c.render(w, http.StatusOK, "alerts.html", view{Title: "灾害预警", Session: s, Data: v})
	return nil
}

// alertApproveSubmit serves POST /console/alerts/{id}/approve through POST
// /api/v1/alerts/{id}/approve.
func (c *Console) alertApproveSubmit(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	path := acctPath("/api/v1/alerts/"+url.PathEscape(r.PathValue("id"))+"/approve", account, nil)
	if err := c.call(r.Context(), s, http.MethodPost, path, nil, nil); err != nil {
		return apiFail(err)
	}
	redirectDone(w, r, "/console/alerts", account, "alert_sent")
	return nil
}

// alertHoldSubmit serves POST /console/alerts/hold (hold=1 or 0) through
// PUT /api/v1/alerts/settings.
func (c *Console) alertHoldSubmit(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	hold := r.PostFormValue("hold") == "1"
	if err := c.call(r.Context(), s, http.MethodPut, acctPath("/api/v1/alerts/settings", account, nil), map[string]bool{"hold": hold}, nil); err != nil {
		return apiFail(err)
	}
	done := "alert_auto"
	if hold {
		done = "alert_hold"
	}
	redirectDone(w, r, "/console/alerts", account, done)
	return nil
}

func nameOr(names map[string]string, key string) string {
	if n, ok := names[key]; ok {
		return n
	}
	return key
}
