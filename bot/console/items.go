package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/content"
)

// The content library, the item page with its versions and diffs, and
// the review queue. Every read and change goes through /api/v1/items as
// the logged-in user; the console only decides which buttons to show.

// itemStatusNames are the Chinese names of the review workflow's states.
var itemStatusNames = map[content.Status]string{
	content.StatusDraft: "草稿", content.StatusInReview: "待审核", content.StatusApproved: "已通过",
	content.StatusPublished: "已发布", content.StatusRetired: "已下线",
}

// itemStatuses is the order of the library's status filter.
var itemStatuses = []content.Status{content.StatusDraft, content.StatusInReview, content.StatusApproved,
	content.StatusPublished, content.StatusRetired}

// actionNames are the Chinese names of the history's actions.
var actionNames = map[content.Action]string{
	content.ActionCreate: "创建", content.ActionEdit: "修改", content.ActionSubmit: "提交审核",
	content.ActionApprove: "审核通过", content.ActionReject: "退回修改", content.ActionPublish: "发布",
	content.ActionRetire: "下线",
}

// itemAction is a review action the console offers: on items in status
// From, to the roles the admin API allows (admins always). The API
// decides; this only picks the buttons a page shows.
type itemAction struct {
	Action content.Action
	From   content.Status
	Roles  []admin.Role
	Reason bool // the form asks for a reason
	Label  string
}

var itemActions = []itemAction{
	{content.ActionSubmit, content.StatusDraft, []admin.Role{admin.RoleEditor}, false, "提交审核"},
	{content.ActionApprove, content.StatusInReview, []admin.Role{admin.RoleReviewer}, false, "审核通过"},
	{content.ActionReject, content.StatusInReview, []admin.Role{admin.RoleReviewer}, true, "退回修改"},
	{content.ActionPublish, content.StatusApproved, []admin.Role{admin.RoleOrganizer}, false, "发布"},
	{content.ActionRetire, content.StatusPublished, []admin.Role{admin.RoleOrganizer}, true, "下线"},
}

func mayAct(s *Session, roles ...admin.Role) bool {
	return s.Role == admin.RoleAdmin || slices.Contains(roles, s.Role)
}

// actionsFor returns the actions s may take on an item in status st.
func actionsFor(s *Session, st content.Status) []itemAction {
	var out []itemAction
	for _, a := range itemActions {
		if a.From == st && mayAct(s, a.Roles...) {
			out = append(out, a)
		}
	}
	return out
}

// listPage is the page size of the library.
const listPage = 50

func (c *Console) contentRoutes() {
	c.handle("GET /console/items", c.itemsPage, admin.Roles()...)
	c.handle("GET /console/items/new", c.newItemPage, admin.RoleEditor)
	c.handle("POST /console/items", c.createItem, admin.RoleEditor)
	c.handle("GET /console/items/{id}", c.itemPage, admin.Roles()...)
	c.handle("GET /console/items/{id}/edit", c.editItemPage, admin.RoleEditor)
	c.handle("POST /console/items/{id}", c.updateItem, admin.RoleEditor)
	c.handleUpload("POST /console/items/{id}/audio", c.uploadAudio, admin.RoleEditor)
	for _, a := range itemActions {
		c.handle("POST /console/items/{id}/"+string(a.Action), c.itemActionSubmit(a), a.Roles...)
	}
	c.handle("GET /console/review", c.reviewPage, admin.Roles()...)
}

// itemDoc is an item as the admin API answers it.
type itemDoc struct {
	content.Item
	Versions int                  `json:"versions"`
	History  []content.Transition `json:"history"`
}

// itemList is GET /api/v1/items.
type itemList struct {
	Items []content.Item `json:"items"`
	Total int            `json:"total"`
}

type itemRow struct {
	content.Item
	StatusName string
	Topics     string
}

type itemsView struct {
	Items          []itemRow
	Total          int
	From, To       int
	Prev, Next     string
	Status         string
	Topic          string
	Group          string
	Town           string
	Statuses       []option
	Topics, Groups []option
	Towns          []option
	CanCreate      bool
}

// itemsPage serves the library: ?status=&topic=&group=&town=&offset=.
func (c *Console) itemsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(offset, 0)
	filter := url.Values{"status": {q.Get("status")}, "topic": {q.Get("topic")}, "group": {q.Get("group")}, "town": {q.Get("town")}}
	api := url.Values{"limit": {strconv.Itoa(listPage)}, "offset": {strconv.Itoa(offset)}}
	for k, v := range filter {
		api[k] = v
	}
	var list itemList
	if err := c.call(r.Context(), s, http.MethodGet, apiPath("/api/v1/items", api), nil, &list); err != nil {
		return apiFail(err)
	}
	v := itemsView{Total: list.Total, Status: q.Get("status"), Topic: q.Get("topic"), Group: q.Get("group"),
		Town: q.Get("town"), CanCreate: mayAct(s, admin.RoleEditor)}
	for _, it := range list.Items {
		v.Items = append(v.Items, itemRow{Item: it, StatusName: itemStatusNames[it.Status], Topics: c.topicNames(it.Topics)})
	}
	if len(list.Items) > 0 {
		v.From, v.To = offset+1, offset+len(list.Items)
	}
	link := func(off int) string {
		p := url.Values{}
		for k, vs := range filter {
			p[k] = vs
		}
		if off > 0 {
			p.Set("offset", strconv.Itoa(off))
		}
		return apiPath("/console/items", p)
	}
	if offset > 0 {
		v.Prev = link(max(offset-listPage, 0))
	}
	if offset+len(list.Items) < list.Total {
		v.Next = link(offset + listPage)
	}
	for _, st := range itemStatuses {
		v.Statuses = append(v.Statuses, option{ID: string(st), Name: itemStatusNames[st], Checked: string(st) == v.Status})
	}
	v.Topics, v.Groups, v.Towns = c.taxOptions([]string{v.Topic}, []string{v.Group}, []string{v.Town})
	c.render(w, http.StatusOK, "items.html", view{Title: "内容库", Session: s, Data: v})
	return nil
}

// taxOptions lists the taxonomy's topics, groups and towns, the given ids
// checked.
func (c *Console) taxOptions(topics, groups, towns []string) (tp, gr, tw []option) {
	for _, t := range c.cfg.Tax.Topics {
		tp = append(tp, option{ID: t.ID, Name: t.Name, Checked: slices.Contains(topics, t.ID)})
	}
	for _, g := range c.cfg.Tax.Groups {
		gr = append(gr, option{ID: g.ID, Name: g.Name, Checked: slices.Contains(groups, g.ID)})
	}
	for _, t := range c.cfg.Tax.Towns {
		tw = append(tw, option{ID: t.ID, Name: t.Name, Checked: slices.Contains(towns, t.ID)})
	}
	return tp, gr, tw
}

// names joins the Chinese names of ids (the id itself when unknown); no
// ids is everyone.
func names(ids []string, name func(string) (string, bool)) string {
	if len(ids) == 0 {
		return "全部"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		n, ok := name(id)
		if !ok {
			n = id
		}
		out[i] = n
	}
	return strings.Join(out, "、")
}

func (c *Console) topicNames(ids []string) string {
	return names(ids, func(id string) (string, bool) { t, ok := c.cfg.Tax.Topic(id); return t.Name, ok })
}

func (c *Console) groupNames(ids []string) string {
	return names(ids, func(id string) (string, bool) { g, ok := c.cfg.Tax.Group(id); return g.Name, ok })
}

func (c *Console) townNames(ids []string) string {
	return names(ids, func(id string) (string, bool) { t, ok := c.cfg.Tax.Town(id); return t.Name, ok })
}

// itemForm is the new and edit form.
type itemForm struct {
	Action     string // where the form posts
	ID         string // "" for a new item
	Item       content.Item
	Priority   string
	ValidFrom  string
	ValidUntil string
	SolarTerms string
	Topics     []option
	Groups     []option
	Towns      []option
	Months     []option
}

// localInput is the layout of datetime-local inputs.
const localInput = "2006-01-02T15:04"

func (c *Console) inputTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(c.cfg.Now().Location()).Format(localInput)
}

func (c *Console) parseInputTime(v string) (time.Time, error) {
	if v = strings.TrimSpace(v); v == "" {
		return time.Time{}, nil
	}
	return time.ParseInLocation(localInput, v, c.cfg.Now().Location())
}

func (c *Console) newItemForm(id string, it content.Item) itemForm {
	f := itemForm{Action: "/console/items", ID: id, Item: it, Priority: strconv.Itoa(it.Priority),
		ValidFrom: c.inputTime(it.ValidFrom), ValidUntil: c.inputTime(it.ValidUntil),
		SolarTerms: strings.Join(it.Season.SolarTerms, " ")}
	if id != "" {
		f.Action = "/console/items/" + id
	}
	f.Topics, f.Groups, f.Towns = c.taxOptions(it.Topics, it.Groups, it.Towns)
	for m := 1; m <= 12; m++ {
		f.Months = append(f.Months, option{ID: strconv.Itoa(m), Name: strconv.Itoa(m) + "月", Checked: slices.Contains(it.Season.Months, m)})
	}
	return f
}

// readItemForm overlays the posted form on it. The form's own errors
// (a number or a time that does not parse) come back as a message; the
// rest is the API's to check.
func (c *Console) readItemForm(r *http.Request, it content.Item) (content.Item, itemForm, string) {
	f := r.PostForm
	text := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	it.Title, it.Summary, it.Short = text("title"), text("summary"), text("short")
	it.Body = strings.TrimSpace(strings.ReplaceAll(f.Get("body"), "\r\n", "\n"))
	it.URL, it.CoverURL = text("url"), text("cover_url")
	it.Source, it.Citation, it.Author = text("source"), text("citation"), text("author")
	it.Topics, it.Groups, it.Towns = f["topics"], f["groups"], f["towns"]
	it.Season.Months = nil
	var msgs []string
	for _, m := range f["months"] {
		n, err := strconv.Atoi(m)
		if err != nil {
			msgs = append(msgs, "月份无效")
			break
		}
		it.Season.Months = append(it.Season.Months, n)
	}
	it.Season.SolarTerms = strings.FieldsFunc(f.Get("solar_terms"), func(r rune) bool {
		return r == ' ' || r == ',' || r == '，' || r == '、' || r == '\t' || r == '　'
	})
	form := c.newItemForm(r.PathValue("id"), it)
	form.Priority, form.ValidFrom, form.ValidUntil, form.SolarTerms = text("priority"), text("valid_from"), text("valid_until"), text("solar_terms")
	it.Priority = 0
	if form.Priority != "" {
		n, err := strconv.Atoi(form.Priority)
		if err != nil {
			msgs = append(msgs, "优先级须为 0–100 的整数")
		}
		it.Priority = n
	}
	var err error
	if it.ValidFrom, err = c.parseInputTime(form.ValidFrom); err != nil {
		msgs = append(msgs, "生效时间格式不对")
	}
	if it.ValidUntil, err = c.parseInputTime(form.ValidUntil); err != nil {
		msgs = append(msgs, "失效时间格式不对")
	}
	form.Item = it
	return it, form, strings.Join(msgs, "；")
}

// fieldMessages are Chinese texts of the content package's common field
// messages; others are shown as the API wrote them.
var fieldMessages = map[string]string{
	"required":                        "必填",
	"must be an absolute http(s) URL": "须为 http(s) 开头的完整网址",
	"required (RFC 3339)":             "必填",
	"at least 1":                      "至少为 1",
}

// formMessage is userMessage with the field messages in Chinese.
func formMessage(err error) (int, string) {
	var ae *apiError
	if errors.As(err, &ae) && len(ae.Fields) > 0 {
		cp := *ae
		cp.Fields = make(map[string]string, len(ae.Fields))
		for k, v := range ae.Fields {
			if label, ok := objFieldNames[k]; ok {
				k = label
			}
			if zh, ok := fieldMessages[v]; ok {
				v = zh
			} else if n, m, ok := atMost(v); ok {
				v = "最多 " + n + " 个字，现有 " + m + " 个"
			}
			cp.Fields[k] = v
		}
		err = &cp
	}
	return userMessage(err)
}

// atMost reads the content package's "at most N characters, got M".
func atMost(msg string) (n, m string, ok bool) {
	rest, ok := strings.CutPrefix(msg, "at most ")
	if !ok {
		return "", "", false
	}
	n, m, ok = strings.Cut(rest, " characters, got ")
	return n, m, ok
}

func (c *Console) newItemPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	c.render(w, http.StatusOK, "item_form.html", view{Title: "新建内容", Session: s, Data: c.newItemForm("", content.Item{})})
	return nil
}

func (c *Console) createItem(w http.ResponseWriter, r *http.Request, s *Session) error {
	it, form, msg := c.readItemForm(r, content.Item{})
	if msg != "" {
		c.render(w, http.StatusBadRequest, "item_form.html", view{Title: "新建内容", Session: s, Error: msg, Data: form})
		return nil
	}
	var out itemDoc
	if err := c.call(r.Context(), s, http.MethodPost, "/api/v1/items", it, &out); err != nil {
		status, msg := formMessage(err)
		if status == http.StatusInternalServerError {
			return err
		}
		c.render(w, status, "item_form.html", view{Title: "新建内容", Session: s, Error: msg, Data: form})
		return nil
	}
	http.Redirect(w, r, "/console/items/"+url.PathEscape(out.ID), http.StatusSeeOther)
	return nil
}

func (c *Console) getItem(ctx context.Context, s *Session, id string, version int) (itemDoc, error) {
	p := "/api/v1/items/" + url.PathEscape(id)
	if version > 0 {
		p += "?version=" + strconv.Itoa(version)
	}
	var it itemDoc
	err := c.call(ctx, s, http.MethodGet, p, nil, &it)
	return it, err
}

func (c *Console) editItemPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	it, err := c.getItem(r.Context(), s, r.PathValue("id"), 0)
	if err != nil {
		return apiFail(err)
	}
	c.render(w, http.StatusOK, "item_form.html", view{Title: "修改 " + it.Title, Session: s, Data: c.newItemForm(it.ID, it.Item)})
	return nil
}

// updateItem saves the form as a new version: the current item with the
// form's fields, so what the form does not show is kept.
func (c *Console) updateItem(w http.ResponseWriter, r *http.Request, s *Session) error {
	cur, err := c.getItem(r.Context(), s, r.PathValue("id"), 0)
	if err != nil {
		return apiFail(err)
	}
	it, form, msg := c.readItemForm(r, cur.Item)
	title := "修改 " + cur.Title
	if msg != "" {
		c.render(w, http.StatusBadRequest, "item_form.html", view{Title: title, Session: s, Error: msg, Data: form})
		return nil
	}
	if err := c.call(r.Context(), s, http.MethodPut, "/api/v1/items/"+url.PathEscape(cur.ID), it, nil); err != nil {
		status, msg := formMessage(err)
		if status == http.StatusInternalServerError {
			return err
		}
		c.render(w, status, "item_form.html", view{Title: title, Session: s, Error: msg, Data: form})
		return nil
	}
	http.Redirect(w, r, "/console/items/"+url.PathEscape(cur.ID), http.StatusSeeOther)
	return nil
}

// itemActionSubmit takes a review action through the API, then shows the
// item again (or goes back to the review queue).
func (c *Console) itemActionSubmit(a itemAction) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *Session) error {
		id := r.PathValue("id")
		var body any
		if a.Reason {
			body = map[string]string{"reason": strings.TrimSpace(r.PostForm.Get("reason"))}
		}
		err := c.call(r.Context(), s, http.MethodPost, "/api/v1/items/"+url.PathEscape(id)+"/"+string(a.Action), body, nil)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				return err
			}
			status, msg := formMessage(err)
			if a.Action == content.ActionApprove && ae.Status == http.StatusForbidden {
				// The console let the role through, so the API refused
				// the person: they wrote or submitted the item.
				msg = "您不能审核自己编写、修改或提交的内容，请由其他审核员审核。"
			}
			if ae.Status == http.StatusNotFound {
				return apiFail(err)
			}
			return c.showItem(w, r, s, id, status, msg)
		}
		back := "/console/items/" + url.PathEscape(id)
		if b := r.PostForm.Get("back"); b == "/console/review" {
			back = b
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
}

func (c *Console) itemPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	return c.showItem(w, r, s, r.PathValue("id"), http.StatusOK, "")
}

type historyRow struct {
	content.Transition
	ActionName string
	ToName     string
	ByName     string
	ReasonText string // the reason, with the system's own reasons in Chinese
}

type itemView struct {
	Item       itemDoc
	StatusName string
	Topics     string
	Groups     string
	Towns      string
	Months     string
	History    []historyRow
	Actions    []itemAction
	CanEdit    bool
	Versions   []int
	Published  int // the last published version, 0 if none
	Diff       versionDiff
	Audio      *audioView // the voice recording, nil when none
	CanUpload  bool       // the user may upload a recording
}

// showItem renders the item page with status and an error message (for
// a refused action).
func (c *Console) showItem(w http.ResponseWriter, r *http.Request, s *Session, id string, status int, msg string) error {
	ctx := r.Context()
	it, err := c.getItem(ctx, s, id, 0)
	if err != nil {
		return apiFail(err)
	}
	who, err := c.userNames(ctx)
	if err != nil {
		return err
	}
	v := itemView{Item: it, StatusName: itemStatusNames[it.Status], Topics: c.topicNames(it.Topics),
		Groups: c.groupNames(it.Groups), Towns: c.townNames(it.Towns), Actions: actionsFor(s, it.Status),
		CanEdit: mayAct(s, admin.RoleEditor) && it.Status != content.StatusRetired, Published: lastPublished(it.History)}
	v.Months = monthNames(it.Season.Months)
	if v.Audio, err = c.itemAudio(r, s, id); err != nil {
		return err
	}
	v.CanUpload = mayAct(s, admin.RoleEditor) && it.Status != content.StatusRetired
	for i := len(it.History) - 1; i >= 0; i-- {
		t := it.History[i]
		v.History = append(v.History, historyRow{Transition: t, ActionName: actionNames[t.Action],
			ToName: itemStatusNames[t.To], ByName: who(t.By), ReasonText: reasonText(t.Reason)})
	}
	for n := it.Version; n >= 1; n-- {
		v.Versions = append(v.Versions, n)
	}
	a, b, err := diffVersions(r.URL.Query(), it)
	if err != nil {
		return err
	}
	if a > 0 {
		if v.Diff, err = c.diffItem(ctx, s, it, a, b); err != nil {
			return apiFail(err)
		}
	}
	c.render(w, status, "item.html", view{Title: it.Title, Session: s, Error: msg, Data: v})
	return nil
}

func monthNames(ms []int) string {
	if len(ms) == 0 {
		return "全年"
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = strconv.Itoa(m) + "月"
	}
	return strings.Join(out, "、")
}

// lastPublished returns the version the item last went out as (0: never).
func lastPublished(h []content.Transition) int {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Action == content.ActionPublish {
			return h[i].Version
		}
	}
	return 0
}

// diffVersions picks the versions to compare: ?a=&b=, or by default the
// current version against the last published one when the current one
// is not it, else against the one before. a is 0 when there is nothing
// to compare (a first version).
func diffVersions(q url.Values, it itemDoc) (a, b int, err error) {
	b = it.Version
	if pub := lastPublished(it.History); pub > 0 && pub < it.Version {
		a = pub
	} else {
		a = it.Version - 1
	}
	bad := &statusError{status: http.StatusBadRequest, msg: "版本号无效"}
	if v := q.Get("a"); v != "" {
		if a, err = strconv.Atoi(v); err != nil || a < 1 || a > it.Version {
			return 0, 0, bad
		}
	}
	if v := q.Get("b"); v != "" {
		if b, err = strconv.Atoi(v); err != nil || b < 1 || b > it.Version {
			return 0, 0, bad
		}
	}
	return a, b, nil
}

// userNames returns a function naming admin users by id.
func (c *Console) userNames(ctx context.Context) (func(string) string, error) {
	users, err := c.cfg.Users.List(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(users))
	for _, u := range users {
		m[u.ID] = u.Name
	}
	return func(id string) string {
		switch {
		case m[id] != "":
			return m[id]
		case id == "import":
			return "批量导入"
		case id == "samples":
			return "示例内容（启动时导入）"
		case id == "cli":
			return "命令行导入"
		case strings.HasPrefix(id, "feed:"):
			return "外部内容源 " + strings.TrimPrefix(id, "feed:")
		}
		return id
	}, nil
}

// reasonText shows a transition's reason; the ones the system writes
// itself are in Chinese.
func reasonText(r string) string {
	if n, ok := map[string]string{"trusted import": "来自可信来源，导入时直接发布"}[r]; ok {
		return n
	}
	return r
}
