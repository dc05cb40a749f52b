package console

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/export"
)

// The exports are CSV files for Excel: UTF-8 with a byte-order mark,
// downloaded as attachments. They hold counts and words only, never an
// openid. Every role may download them (they change nothing).

// bom makes Excel read the file as UTF-8.
const bom = "\uFEFF"

// exportCampaigns is how many campaigns campaigns.csv lists.
const exportCampaigns = 100

type exportLink struct{ Name, Title string }

type exportsView struct {
	Account      string
	Competitions []exportLink
	Events       []exportLink
	Query        string // ?account= for the links, or ""
}

// exportsPage serves GET /console/exports: the downloads, with the
// published competitions and events read through the API.
func (c *Console) exportsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	v := exportsView{Account: account}
	if q := accountQuery(account); q != "" {
		v.Query = "?" + q
	}
	var comps struct {
		Competitions []struct{ ID, Title string } `json:"competitions"`
	}
	err := c.call(r.Context(), s, http.MethodGet, acctPath("/api/v1/competitions", account, url.Values{"status": {"published"}, "limit": {"100"}}), nil, &comps)
	if _, err := optional(err); err != nil {
		return apiFail(err)
	}
	for _, x := range comps.Competitions {
		v.Competitions = append(v.Competitions, exportLink{Name: "competition-" + x.ID + ".csv", Title: x.Title})
	}
	var evs struct {
		Events []struct{ ID, Title string } `json:"events"`
	}
	err = c.call(r.Context(), s, http.MethodGet, acctPath("/api/v1/events", account, url.Values{"status": {"published"}, "limit": {"100"}}), nil, &evs)
	if _, err := optional(err); err != nil {
		return apiFail(err)
	}
	for _, x := range evs.Events {
		v.Events = append(v.Events, exportLink{Name: "event-" + x.ID + ".csv", Title: x.Title})
	}
	c.render(w, http.StatusOK, "exports.html", view{Title: "导出", Session: s, Data: v})
	return nil
}

// exportFile serves GET /console/exports/{name}: subscribers.csv,
// demand.csv?days=7|30, campaigns.csv, competition-<id>.csv and
// event-<id>.csv.
func (c *Console) exportFile(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	name := r.PathValue("name")
	var rows [][]string
	var err error
	switch {
	case name == "subscribers.csv":
		rows, err = c.subscribersCSV(r, account)
	case name == "demand.csv":
		rows, err = c.demandCSV(r, s, account)
	case name == "campaigns.csv":
		rows, err = c.campaignsCSV(r, account)
	case strings.HasPrefix(name, "competition-") && strings.HasSuffix(name, ".csv"):
		rows, err = c.competitionCSV(r, s, account, strings.TrimSuffix(strings.TrimPrefix(name, "competition-"), ".csv"))
	case strings.HasPrefix(name, "event-") && strings.HasSuffix(name, ".csv"):
		return c.eventCSV(w, r, s, account, strings.TrimSuffix(strings.TrimPrefix(name, "event-"), ".csv"))
	default:
		return &statusError{status: http.StatusNotFound, msg: "没有这个导出文件"}
	}
	if err != nil {
		return apiFail(err)
	}
	var buf bytes.Buffer
	buf.WriteString(bom)
	cw := export.NewCSV(&buf)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	sendCSV(w, name, buf.Bytes())
	return nil
}

// sendCSV answers a CSV attachment.
func sendCSV(w http.ResponseWriter, name string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+url.PathEscape(name)+`"`)
	w.Write(body)
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// subscribersCSV is reachable subscribers by town × group with the towns'
// population and coverage, from the dashboard's counts.
func (c *Console) subscribersCSV(r *http.Request, account string) ([][]string, error) {
	d, err := c.Dashboard(r.Context(), account)
	if err != nil {
		return nil, err
	}
	head := []string{"镇街代码", "镇街"}
	for _, g := range d.Groups {
		head = append(head, g.Name)
	}
	head = append(head, "合计", "近30天活跃", "常住人口（约数）", "覆盖率%")
	rows := [][]string{head}
	for _, t := range d.Towns {
		row := []string{t.ID, t.Name}
		for _, n := range t.Cells {
			row = append(row, i64(n))
		}
		rows = append(rows, append(row, i64(t.Total), i64(t.Active), i64(t.Population),
			strconv.FormatFloat(percent(t.Total, t.Population), 'f', 1, 64)))
	}
	total := []string{"", "合计"}
	for _, n := range d.GroupTotals {
		total = append(total, i64(n))
	}
	rows = append(rows, append(total, i64(d.Reachable), i64(d.Active), i64(d.Population),
		strconv.FormatFloat(percent(d.Reachable, d.Population), 'f', 1, 64)))
	return rows, nil
}

// demandCSV is the top words of the whole account, each town and each
// group over the last 7 or 30 days.
func (c *Console) demandCSV(r *http.Request, s *Session, account string) ([][]string, error) {
	days := 7
	if r.URL.Query().Get("days") == "30" {
		days = 30
	}
	rows := [][]string{{"范围", "代码", "名称", "名次", "搜索词", "次数", "天数"}}
	add := func(scope, id, name, town, group string, limit int) error {
		words, _, _, err := c.demand(r.Context(), s, account, days, town, group, limit)
		for i, w := range words {
			rows = append(rows, []string{scope, id, name, strconv.Itoa(i + 1), w.Word, i64(w.Count), strconv.Itoa(days)})
		}
		return err
	}
	if err := add("全区", "", "全区", "", "", 100); err != nil {
		return nil, err
	}
	for _, t := range c.cfg.Tax.Towns {
		if err := add("镇街", t.ID, t.Name, t.ID, "", 30); err != nil {
			return nil, err
		}
	}
	for _, g := range c.cfg.Tax.Groups {
		if err := add("人群", g.ID, g.Name, "", g.ID, 30); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// campaignsCSV is the recent campaigns with their delivery and clicks.
func (c *Console) campaignsCSV(r *http.Request, account string) ([][]string, error) {
	list, err := c.recentCampaigns(r.Context(), account, exportCampaigns)
	if err != nil {
		return nil, err
	}
	rows := [][]string{{"编号", "名称", "状态", "创建时间", "开始时间", "计划人数", "排队", "已发送", "失败", "跳过", "点击", "点击率%"}}
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(c.cfg.Now().Location()).Format("2006-01-02 15:04")
	}
	for _, x := range list {
		st := x.Stats
		rows = append(rows, []string{x.ID, x.Name, statusNames[x.Status], at(&x.CreatedAt), at(x.StartedAt), i64(x.Planned),
			i64(st.Queued), i64(st.Sent), i64(st.Failed), i64(st.Skipped), i64(st.Clicks),
			strconv.FormatFloat(percent(st.Clicks, st.Sent), 'f', 1, 64)})
	}
	return rows, nil
}

// competitionCSV is a competition's participation and pass rate overall,
// by town and by group (GET /api/v1/competitions/{id}/stats): the
// indicator, without the per-person results of the API's own export.
func (c *Console) competitionCSV(r *http.Request, s *Session, account, id string) ([][]string, error) {
	type tally struct {
		Participants int64   `json:"participants"`
		Completed    int64   `json:"completed"`
		Passed       int64   `json:"passed"`
		PassRate     float64 `json:"pass_rate"`
	}
	var st struct {
		tally
		ByTown  map[string]tally `json:"by_town"`
		ByGroup map[string]tally `json:"by_group"`
	}
	if err := c.call(r.Context(), s, http.MethodGet, acctPath("/api/v1/competitions/"+url.PathEscape(id)+"/stats", account, nil), nil, &st); err != nil {
		return nil, err
	}
	rows := [][]string{{"范围", "代码", "名称", "参与", "完成", "达标", "达标率%"}}
	row := func(scope, id, name string, t tally) {
		rows = append(rows, []string{scope, id, name, i64(t.Participants), i64(t.Completed), i64(t.Passed),
			strconv.FormatFloat(t.PassRate*100, 'f', 1, 64)})
	}
	row("全部", id, "", st.tally)
	for _, t := range c.cfg.Tax.Towns {
		if x, ok := st.ByTown[t.ID]; ok {
			row("镇街", t.ID, t.Name, x)
		}
	}
	for _, g := range c.cfg.Tax.Groups {
		if x, ok := st.ByGroup[g.ID]; ok {
			row("人群", g.ID, g.Name, x)
		}
	}
	return rows, nil
}

// eventCSV is the API's event statistics (counts by town and group, GET
// /api/v1/events/{id}/stats?format=csv) with the byte-order mark.
func (c *Console) eventCSV(w http.ResponseWriter, r *http.Request, s *Session, account, id string) error {
	body, _, err := c.callRaw(r.Context(), s, acctPath("/api/v1/events/"+url.PathEscape(id)+"/stats", account, url.Values{"format": {"csv"}}))
	if err != nil {
		return apiFail(err)
	}
	sendCSV(w, "event-"+id+".csv", append([]byte(bom), bytes.TrimPrefix(body, []byte(bom))...))
	return nil
}
