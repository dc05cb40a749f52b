package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// The campaign composer: the form that makes a draft (name, item or "the
// best item per subscriber", audience, notice flag, booking), its checks
// and the API's field errors as the form shows them.

// composeForm is the composer's form.
type composeForm struct {
	Name    string
	Mode    string // campaign.ModeItem or ModePersonalized
	ItemID  string
	Segment string // a saved segment's name, or "" for Expr
	Expr    string
	Notice  bool
	Booking string // a mass-send booking's id ("" none)
}

// composeView is the composer page.
type composeView struct {
	Form     composeForm
	Items    []content.Item
	Segments []segment.Saved
	Bookings []bookingChoice
	Count    *audienceCount
	Fields   map[string]string // per-field errors, in Chinese
}

func (c *Console) composeData(ctx context.Context, s *Session, account string, f composeForm) (*composeView, error) {
	v := &composeView{Form: f, Fields: map[string]string{}}
	var items struct {
		Items []content.Item `json:"items"`
	}
	if err := c.call(ctx, s, http.MethodGet, apiPath("/api/v1/items",
		url.Values{"account": {account}, "status": {string(content.StatusPublished)}, "limit": {"500"}}), nil, &items); err != nil {
		return nil, err
	}
	v.Items = items.Items
	var segs struct {
		Segments []segment.Saved `json:"segments"`
	}
	if err := c.call(ctx, s, http.MethodGet, apiPath("/api/v1/segments", url.Values{"account": {account}}), nil, &segs); err != nil {
		return nil, err
	}
	v.Segments = segs.Segments
	var err error
	v.Bookings, err = c.bookingChoices(ctx, s, account)
	return v, err
}

// composePage serves GET /console/campaigns/new (?segment= or ?expr=
// preselect the audience).
func (c *Console) composePage(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	f := composeForm{Mode: campaign.ModeItem, Segment: q.Get("segment"), Expr: q.Get("expr"), ItemID: q.Get("item")}
	account := admin.Account(r)
	v, err := c.composeData(r.Context(), s, account, f)
	if err != nil {
		return apiFail(err)
	}
	if f.Segment != "" || f.Expr != "" {
		expr, err := c.audienceExpr(r.Context(), s, account, f)
		if err != nil {
			return apiFail(err)
		}
		if v.Count, err = c.preview(r.Context(), s, account, expr); err != nil {
			return apiFail(err)
		}
	}
	c.render(w, http.StatusOK, "campaign_new.html", view{Title: "新建推送", Session: s, Data: v})
	return nil
}

// audienceExpr is the composer's audience: the saved segment's
// expression, or the typed one.
func (c *Console) audienceExpr(ctx context.Context, s *Session, account string, f composeForm) (string, error) {
	if f.Segment == "" {
		return f.Expr, nil
	}
	var saved segment.Saved
	err := c.call(ctx, s, http.MethodGet, apiPath("/api/v1/segments/"+url.PathEscape(f.Segment), url.Values{"account": {account}}), nil, &saved)
	return saved.Expr, err
}

// composeSubmit serves POST /console/campaigns: create the draft and show
// its plan; a refusal shows the composer again with the API's reasons.
func (c *Console) composeSubmit(w http.ResponseWriter, r *http.Request, s *Session) error {
	pf := r.PostForm
	f := composeForm{Name: strings.TrimSpace(pf.Get("name")), Mode: pf.Get("mode"), ItemID: pf.Get("item_id"),
		Segment: pf.Get("segment"), Expr: strings.TrimSpace(pf.Get("expr")), Notice: pf.Get("notice") != "", Booking: pf.Get("booking")}
	account := admin.Account(r)
	fail := func(status int, msg string, fields map[string]string, count *audienceCount) error {
		v, err := c.composeData(r.Context(), s, account, f)
		if err != nil {
			return apiFail(err)
		}
		v.Count = count
		for k, m := range fields {
			v.Fields[k] = m
		}
		c.render(w, status, "campaign_new.html", view{Title: "新建推送", Session: s, Error: msg, Data: v})
		return nil
	}
	expr, err := c.audienceExpr(r.Context(), s, account, f)
	if err != nil {
		return fail(http.StatusBadRequest, "找不到所选的受众 "+f.Segment, nil, nil)
	}
	req := map[string]any{"name": f.Name, "audience": expr, "notice": f.Notice}
	if f.Booking != "" {
		req["booking"] = f.Booking
	}
	if f.Mode == campaign.ModePersonalized {
		req["mode"] = campaign.ModePersonalized
	} else {
		req["item_id"] = f.ItemID
	}
	var created campaign.Campaign
	err = c.call(r.Context(), s, http.MethodPost, apiPath("/api/v1/campaigns", url.Values{"account": {account}}), req, &created)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.HasPos:
		count := c.badExpression(expr, ae)
		return fail(http.StatusBadRequest, "未创建："+count.Error, map[string]string{"audience": count.Error}, count)
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		_, msg := userMessage(err)
		return fail(http.StatusBadRequest, "未创建："+msg, composeFieldErrors(ae.Fields), nil)
	case err != nil:
		return apiFail(err)
	}
	http.Redirect(w, r, "/console/campaigns/"+url.PathEscape(created.ID), http.StatusSeeOther)
	return nil
}

// composeFieldErrors are the API's field errors as the composer shows
// them next to its fields.
func composeFieldErrors(fields map[string]string) map[string]string {
	zh := map[string]string{
		"name":     "请填写名称（最多 100 个字）",
		"item_id":  "请选择一条已发布的内容",
		"mode":     "请选择推送方式",
		"audience": "受众条件有误",
		"booking":  "这个预约不能用于这次推送（要是本部门、当天的预约）",
		"send_at":  "发送日期要和预约的日期一致",
	}
	out := map[string]string{}
	for k := range fields {
		if m, ok := zh[k]; ok {
			out[k] = m
		}
	}
	return out
}
