package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/export"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// The campaign composer and results. A campaign is composed as a draft
// (name, item or "the best item per subscriber", audience, notice flag);
// its page then shows the API's channel plan — how many would get a
// customer-service message, a template notice or a mass message, and who
// cannot be reached and why — and a phone-like preview of what one
// sampled subscriber would receive. From there it is sent now (start) or
// at a time (schedule), and paused, resumed or cancelled. Everything goes
// through the admin API, which holds the rules.

// campaignRoutes adds the pages of the campaign composer, phone preview and results.
func (c *Console) campaignRoutes() {
	c.handle("GET /console/campaigns", c.campaignsPage, admin.Roles()...)
	c.handle("GET /console/campaigns/new", c.composePage, admin.RoleOrganizer)
	c.handle("POST /console/campaigns", c.composeSubmit, admin.RoleOrganizer)
	c.handle("GET /console/campaigns/{id}", c.campaignPage, admin.Roles()...)
	c.handle("GET /console/campaigns/{id}/export.csv", c.campaignExport, admin.Roles()...)
	c.handle("POST /console/campaigns/{id}/{action}", c.campaignAction, admin.RoleOrganizer)
}

// campaignJSON is a campaign as the API shows it, with its stats.
type campaignJSON struct {
	campaign.Campaign
	Stats campaign.Stats `json:"stats"`
}

// campaignListRow is one campaign of the list.
// campaignsPage serves GET /console/campaigns: the newest campaigns with
// their results (those that started). The stats are read from the engine
// directly, a few at a time, as the dashboard's are: the API's campaign
// route adds breakdowns by town and group the list does not show.
func (c *Console) campaignsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	rows, err := c.recentCampaigns(r.Context(), account, campaignsListed)
	if err != nil {
		return err
	}
	// Items by title, not id.
	titles := map[string]string{}
	for _, row := range rows {
		if id := row.ItemID; id != "" {
			if _, done := titles[id]; !done {
				titles[id] = "（内容已不存在）"
				if it, err := c.item(r.Context(), s, account, id); err == nil {
					titles[id] = it.Title
				}
			}
		}
	}
	c.render(w, http.StatusOK, "campaigns.html", view{Title: "推送", Session: s,
		Data: map[string]any{"Rows": rows, "CanEdit": canOrganize(s), "Titles": titles}})
	return nil
}

// campaignsListed is how many campaigns the list shows (the API's too).
const campaignsListed = 100

func (c *Console) campaign(ctx context.Context, s *Session, account, id string) (*campaignJSON, error) {
	var cj campaignJSON
	err := c.call(ctx, s, http.MethodGet, apiPath("/api/v1/campaigns/"+url.PathEscape(id), url.Values{"account": {account}}), nil, &cj)
	return &cj, err
}

// Channel names and why a subscriber gets that channel, or none.
var (
	channelNames = map[string]string{
		"reply":  "自动回复", // the webhook's answer (phone view)
		"custom": "客服消息", "template": "模板消息", "subscribe": "订阅通知", "mass": "群发消息",
	}
	channelWhy = map[string]string{
		"custom":    "48 小时内互动过，用客服消息（不占群发次数）",
		"template":  "服务通知，用模板消息",
		"subscribe": "订阅过通知，用订阅通知",
		"mass":      "超过 48 小时没有互动，用群发（每人每月最多 4 条，本月还有名额）",
	}
	reasonNames = map[string]string{
		"unsubscribed":          "已取消关注",
		"opted_out":             "已退订",
		"mass_budget_used":      "本月 4 条群发已用完，且 48 小时内没有互动",
		"reserved":              "本月剩下的群发名额已被其他部门预约，或留给灾害预警",
		"window_closed":         "48 小时内没有互动，不能发客服消息",
		"account_type_unset":    "公众号类型未配置",
		"no_item":               "没有适合他的已发布内容",
		"no_good_item":          "他喜欢的内容都发过了，这次不打扰他",
		"frequency_cap":         "已达推送频率上限",
		"already_received":      "已收到过这条内容",
		"item_not_deliverable":  "内容已过期或未发布",
		"topic_opted_out":       "退订了这个话题",
		"erased":                "资料已删除",
		"unreachable":           "无法触达",
		"claimed_elsewhere":     "已由其他任务发送",
		"mass_batch_of_one":     "群发名单只有 1 人（微信要求至少 2 人）",
		"wechat_not_configured": "公众号接口未配置",
		"unfollowed":            "发送时已取消关注",
		"in_doubt_resent":       "发送中断后重发（可能收到两条）",
		"in_doubt_rekeyed":      "发送中断后重发（微信去重，只收到一条）",
		"subscribe_not_tracked": "只订阅了通知，活动消息无法送达",
	}
)

// ReasonName says why a subscriber was skipped or a send failed, in
// Chinese: the stats' reason key ("frequency_cap") as the console shows it.
func ReasonName(r string) string { return reasonName(r) }

func reasonName(r string) string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	if code, ok := strings.CutPrefix(r, "wechat_"); ok {
		return "微信返回错误 " + code
	}
	return r
}

// countLine is one labelled count of a plan or stats table.
type countLine struct {
	Key, Name string
	Count     int64
}

func countLines(m map[string]int64, name func(string) string) []countLine {
	out := make([]countLine, 0, len(m))
	for k, n := range m {
		out = append(out, countLine{Key: k, Name: name(k), Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// planView is a draft's channel plan as the page shows it.
type planView struct {
	Audience    int64
	Sampled     int
	Channels    []countLine
	Unreachable []countLine
	Sample      []personaLine
}

// personaLine is a sampled subscriber, without their openid.
type personaLine struct {
	N               int
	Group, Town     string // names
	GroupID, TownID string
	Channel, Why    string
	Title           string
	Chosen          bool
	// Reasons says why this item for them: the largest factors of its
	// score and the expected chance they open it.
	Reasons string
}

// phoneView is what the chosen persona would see on their phone.
type phoneView struct {
	Persona personaLine
	Channel string // custom, template, subscribe, mass; "" unreachable
	// Message is what the engine would send them, rendered by the engine
	// (campaign.Engine.Render) so the preview cannot differ from the send.
	Message *campaign.Message
	Thing1  string // a notice's fields, in the template's order
	Thing2  string
}

// campaignView is the campaign page.
type campaignView struct {
	C           campaignJSON
	Item        *content.Item // the campaign's one item (mode item)
	Plan        *planView
	PlanError   string
	Phone       *phoneView
	Channels    []countLine
	Reasons     []countLine
	Towns       []countLine
	Groups      []countLine
	CTR         string
	Variants    []variantLine // an A/B campaign's versions (variants.go)
	Started     bool
	Running     bool
	CanEdit     bool
	CanSchedule bool
	CanStart    bool
	CanPause    bool
	CanResume   bool
	CanCancel   bool
	SendAt      string // the schedule form's default, in the district's time
	Zone        string
	Pickers     pickers // the persona's group and town
	Waiting     string  // why nothing is sent now, and until when ("" = not waiting)
}

// waitingText says in Chinese why a campaign holds its sends.
func waitingText(w *campaign.Waiting, loc *time.Location) string {
	if w == nil {
		return ""
	}
	switch w.Reason {
	case campaign.WaitQuietHours:
		if w.Until != nil {
			return "现在是免打扰时段，" + w.Until.In(loc).Format("1月2日 15:04") + " 起自动发送。"
		}
		return "现在是免打扰时段，结束后自动发送。"
	}
	return "暂缓发送。"
}

// campaignPage serves GET /console/campaigns/{id}: the campaign, its
// channel plan and phone preview before it is sent, its results after.
// ?persona=N chooses a sampled subscriber; ?group= and ?town= the first
// sampled one of that group and town.
func (c *Console) campaignPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	id := r.PathValue("id")
	cj, err := c.campaign(r.Context(), s, account, id)
	if err != nil {
		return apiFail(err)
	}
	loc := c.cfg.Now().Location()
	v := &campaignView{C: *cj, Started: cj.StartedAt != nil, Running: cj.Status == campaign.StatusRunning,
		CanEdit: canOrganize(s), Zone: zoneName(loc),
		Pickers: c.pickers(audienceForm{Groups: []string{r.URL.Query().Get("group")}, Towns: []string{r.URL.Query().Get("town")}}),
		SendAt:  c.cfg.Now().In(loc).Add(time.Hour).Truncate(time.Hour).Format("2006-01-02T15:04")}
	switch cj.Status {
	case campaign.StatusDraft:
		v.CanStart, v.CanSchedule, v.CanCancel = true, true, true
	case campaign.StatusScheduled:
		v.CanStart, v.CanCancel = true, true
	case campaign.StatusRunning:
		v.CanPause, v.CanCancel = true, true
	case campaign.StatusPaused:
		v.CanResume, v.CanCancel = true, true
	}
	if cj.ItemID != "" {
		if it, err := c.item(r.Context(), s, account, cj.ItemID); err == nil {
			v.Item = it
		}
	}
	if cj.Status == campaign.StatusDraft || cj.Status == campaign.StatusScheduled {
		if err := c.planAndPhone(r.Context(), s, account, v, r.URL.Query()); err != nil {
			return err
		}
	}
	if v.Started {
		st := cj.Stats
		v.Channels = countLines(st.ByChannel, func(k string) string { return channelNames[k] })
		v.Reasons = countLines(st.Reasons, reasonKey)
		v.Towns = c.byTown(st.ByTown)
		v.Groups = c.byGroup(st.ByGroup)
		v.CTR = pct(st.Clicks, st.Sent)
		v.Variants = variantLines(st.Variants)
		if cj.Status == campaign.StatusRunning {
			v.Waiting = waitingText(st.Waiting, loc)
		}
	}
	c.render(w, http.StatusOK, "campaign.html", view{Title: cj.Name, Session: s, Data: v})
	return nil
}

// reasonKey names a stats reason ("skipped:frequency_cap").
func reasonKey(k string) string {
	kind, r, ok := strings.Cut(k, ":")
	if !ok {
		return reasonName(k)
	}
	prefix := map[string]string{"skipped": "跳过：", "failed": "失败："}[kind]
	return prefix + reasonName(r)
}

func (c *Console) byTown(m map[string]int64) []countLine {
	var out []countLine
	for _, t := range c.cfg.Tax.Towns {
		if n := m[t.ID]; n > 0 {
			out = append(out, countLine{Key: t.ID, Name: t.Name, Count: n})
		}
	}
	return out
}

func (c *Console) byGroup(m map[string]int64) []countLine {
	var out []countLine
	for _, g := range c.cfg.Tax.Groups {
		if n := m[g.ID]; n > 0 {
			out = append(out, countLine{Key: g.ID, Name: g.Name, Count: n})
		}
	}
	return out
}

func (c *Console) item(ctx context.Context, s *Session, account, id string) (*content.Item, error) {
	var it content.Item
	err := c.call(ctx, s, http.MethodGet, apiPath("/api/v1/items/"+url.PathEscape(id), url.Values{"account": {account}}), nil, &it)
	return &it, err
}

// factorNames are the plan's score factors in Chinese (interest is
// named with its topic).
var factorNames = map[string]string{
	"group": "适合其人群", "town": "本镇街的内容", "season": "正当时令", "off_season": "不在时令",
	"fresh": "新内容", "priority": "编辑推荐", "popular": "同类居民爱看",
}

// reasons renders why an item was picked for someone: the three largest
// factors and the expected chance of a click; "" without an explanation.
func (c *Console) reasons(why *plan.Explanation) string {
	if why == nil || len(why.Factors) == 0 {
		return ""
	}
	var parts []string
	for _, f := range why.Factors[:min(3, len(why.Factors))] {
		name := factorNames[f.Name]
		if f.Name == "interest" {
			name = "对“" + f.Topic + "”感兴趣"
			if t, ok := c.cfg.Tax.Topic(f.Topic); ok {
				name = "对“" + t.Name + "”感兴趣"
			}
		}
		parts = append(parts, fmt.Sprintf("%s（%.0f 分）", name, f.Points))
	}
	return fmt.Sprintf("为什么是这条：%s（预计打开的可能 %.0f%%）", strings.Join(parts, "，"), 100*why.Probability)
}

// planSample is how many sampled subscribers the page asks the plan for.
const planSample = 100

// planAndPhone adds the channel plan (a dry run: nothing is sent) and the
// chosen persona's phone preview.
func (c *Console) planAndPhone(ctx context.Context, s *Session, account string, v *campaignView, q url.Values) error {
	var rep campaign.PlanReport
	err := c.call(ctx, s, http.MethodGet, apiPath("/api/v1/campaigns/"+url.PathEscape(v.C.ID)+"/plan",
		url.Values{"account": {account}, "sample": {strconv.Itoa(planSample)}}), nil, &rep)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusForbidden {
		return nil // reviewers see no plan
	}
	if errors.As(err, &ae) && ae.Status != http.StatusInternalServerError {
		_, v.PlanError = userMessage(err)
		return nil
	}
	if err != nil {
		return err
	}
	v.Waiting = waitingText(rep.Waiting, c.cfg.Now().Location())
	p := &planView{Audience: rep.Audience, Sampled: rep.Sampled,
		Channels:    countLines(rep.ByChannel, func(k string) string { return channelNames[k] }),
		Unreachable: countLines(rep.Unreachable, reasonName)}
	chosen := -1
	if n, err := strconv.Atoi(q.Get("persona")); err == nil && n >= 1 && n <= len(rep.Sample) {
		chosen = n - 1
	}
	group, town := q.Get("group"), q.Get("town")
	for i, line := range rep.Sample {
		pl := personaLine{N: i + 1, GroupID: line.Group, TownID: line.Town, Group: line.Group, Town: line.Town,
			Channel: channelNames[line.Channel], Title: line.Title}
		if g, ok := c.cfg.Tax.Group(line.Group); ok {
			pl.Group = g.Name
		}
		if t, ok := c.cfg.Tax.Town(line.Town); ok {
			pl.Town = t.Name
		}
		if line.Channel != "" {
			pl.Why = channelWhy[line.Channel]
		} else {
			pl.Why = "不会收到：" + reasonName(line.Reason)
		}
		pl.Reasons = c.reasons(line.Why)
		if chosen < 0 && (group != "" || town != "") && (group == "" || group == line.Group) && (town == "" || town == line.Town) {
			chosen = i
		}
		p.Sample = append(p.Sample, pl)
	}
	v.Plan = p
	if chosen < 0 && group == "" && town == "" && len(p.Sample) > 0 {
		chosen = 0
	}
	if chosen < 0 {
		if group != "" || town != "" {
			v.PlanError = "样本中没有这个人群和镇街的关注者，请换一个组合"
		}
		return nil
	}
	p.Sample[chosen].Chosen = true
	line := rep.Sample[chosen]
	phone := &phoneView{Persona: p.Sample[chosen], Channel: line.Channel, Message: line.Message}
	if m := line.Message; m != nil && m.Fields != nil {
		phone.Thing1, phone.Thing2 = m.Fields["thing1"], m.Fields["thing2"]
	}
	v.Phone = phone
	return nil
}

// zoneName names the district's time zone for the schedule form.
func zoneName(loc *time.Location) string {
	if loc.String() == "Asia/Shanghai" {
		return "北京时间"
	}
	return loc.String()
}

// campaignAction serves POST /console/campaigns/{id}/{action}: start,
// schedule (send_at, in the district's time), pause, resume, cancel.
func (c *Console) campaignAction(w http.ResponseWriter, r *http.Request, s *Session) error {
	id, action := r.PathValue("id"), r.PathValue("action")
	account := admin.Account(r)
	var body any
	switch action {
	case "start", "pause", "resume", "cancel":
	case "schedule":
		loc := c.cfg.Now().Location()
		at, err := time.ParseInLocation("2006-01-02T15:04", r.PostForm.Get("send_at"), loc)
		if err != nil {
			return &statusError{status: http.StatusBadRequest, msg: "请填写发送时间，如 2027-05-10 08:00"}
		}
		if !at.After(c.cfg.Now()) {
			return &statusError{status: http.StatusBadRequest, msg: "发送时间必须晚于现在（" + c.cfg.Now().In(loc).Format("2006-01-02 15:04") + "）"}
		}
		body = map[string]any{"send_at": at}
	default:
		return &statusError{status: http.StatusNotFound, msg: "页面不存在"}
	}
	err := c.call(r.Context(), s, http.MethodPost,
		apiPath("/api/v1/campaigns/"+url.PathEscape(id)+"/"+action, url.Values{"account": {account}}), body, nil)
	if err != nil {
		return apiFail(err)
	}
	http.Redirect(w, r, "/console/campaigns/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

// campaignExport serves GET /console/campaigns/{id}/export.csv: the
// campaign's counts (never openids), UTF-8 with a BOM so Excel reads the
// Chinese.
func (c *Console) campaignExport(w http.ResponseWriter, r *http.Request, s *Session) error {
	cj, err := c.campaign(r.Context(), s, admin.Account(r), r.PathValue("id"))
	if err != nil {
		return apiFail(err)
	}
	st := cj.Stats
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	cw := export.NewCSV(&buf)
	row := func(section, name string, n int64) {
		cw.Write([]string{section, name, strconv.FormatInt(n, 10)})
	}
	cw.Write([]string{"分类", "项目", "人数"})
	cw.Write([]string{"推送", cj.Name + "（" + statusNames[cj.Status] + "）", ""})
	row("总计", "计划", st.Queued)
	row("总计", "已发送", st.Sent)
	row("总计", "失败", st.Failed)
	row("总计", "跳过", st.Skipped)
	row("总计", "待发送", st.Pending)
	row("总计", "点击", st.Clicks)
	cw.Write([]string{"总计", "点击率", pct(st.Clicks, st.Sent)})
	for _, l := range countLines(st.ByChannel, func(k string) string { return channelNames[k] }) {
		row("渠道", l.Name, l.Count)
	}
	for _, l := range countLines(st.Reasons, reasonKey) {
		row("原因", l.Name, l.Count)
	}
	for _, l := range c.byTown(st.ByTown) {
		row("镇街（已发送）", l.Name, l.Count)
	}
	for _, l := range c.byGroup(st.ByGroup) {
		row("人群（已发送）", l.Name, l.Count)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="campaign-`+url.PathEscape(cj.ID)+`.csv"`)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(buf.Bytes())
	return err
}
