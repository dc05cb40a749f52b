package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/content"
)

// Quiz competitions and events: lists, details with their statistics,
// CSV downloads, and the organizer's create and publish. All through the
// admin API as the logged-in user.

func (c *Console) eventRoutes() {
	c.handle("GET /console/competitions", c.competitionsPage, admin.Roles()...)
	c.handle("GET /console/competitions/new", c.newCompetitionPage, admin.RoleOrganizer)
	c.handle("POST /console/competitions", c.createCompetition, admin.RoleOrganizer)
	c.handle("GET /console/competitions/{id}", c.competitionPage, admin.Roles()...)
	c.handle("POST /console/competitions/{id}/publish", c.publish("competitions"), admin.RoleOrganizer)

	c.handle("GET /console/events", c.eventsPage, admin.Roles()...)
	c.handle("GET /console/events/new", c.newEventPage, admin.RoleOrganizer)
	c.handle("POST /console/events", c.createEvent, admin.RoleOrganizer)
	c.handle("GET /console/events/{id}", c.eventPage, admin.Roles()...)
	c.handle("POST /console/events/{id}/publish", c.publish("events"), admin.RoleOrganizer)
	c.handle("GET /console/events/{id}/qrcode", c.eventQRCode, admin.RoleOrganizer, admin.RoleViewer)
	c.handle("POST /console/events/{id}/notice", c.eventNotice, admin.RoleOrganizer)
	c.handle("POST /console/events/{id}/reminders", c.eventReminders, admin.RoleOrganizer)
}

// objFieldNames are the Chinese labels of competition and event fields
// that api.go's fieldNames lacks.
var objFieldNames = map[string]string{
	"question_ids": "题目编号", "question_count": "题目数量", "time_limit_seconds": "每题限时",
	"pass_mark": "及格题数", "attempts": "答题次数", "signup_opens": "报名开始", "signup_closes": "报名截止",
	"reminders": "提醒", "description": "简介",
}

// listPager reads ?status= (draft or published) and ?offset= and builds
// the previous and next links of a list.
type listPager struct {
	Status     string
	Statuses   []option
	Total      int
	Prev, Next string
}

func newPager(base string, q url.Values, total, shown int) (listPager, int) {
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(offset, 0)
	p := listPager{Status: q.Get("status"), Total: total}
	for _, st := range []content.Status{content.StatusDraft, content.StatusPublished} {
		p.Statuses = append(p.Statuses, option{ID: string(st), Name: itemStatusNames[st], Checked: string(st) == p.Status})
	}
	link := func(off int) string {
		v := url.Values{"status": {p.Status}}
		if off > 0 {
			v.Set("offset", strconv.Itoa(off))
		}
		return apiPath(base, v)
	}
	if offset > 0 {
		p.Prev = link(max(offset-listPage, 0))
	}
	if offset+shown < total {
		p.Next = link(offset + listPage)
	}
	return p, offset
}

func listQuery(q url.Values) string {
	offset, _ := strconv.Atoi(q.Get("offset"))
	return apiPath("", url.Values{"status": {q.Get("status")}, "limit": {strconv.Itoa(listPage)}, "offset": {strconv.Itoa(max(offset, 0))}})
}

type competitionRow struct {
	content.Competition
	StatusName   string
	NumQuestions int
}

type competitionsView struct {
	listPager
	Competitions []competitionRow
	CanCreate    bool
}

func (c *Console) competitionsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	var list struct {
		Competitions []content.Competition `json:"competitions"`
		Total        int                   `json:"total"`
	}
	if err := c.call(r.Context(), s, http.MethodGet, "/api/v1/competitions"+listQuery(r.URL.Query()), nil, &list); err != nil {
		return apiFail(err)
	}
	v := competitionsView{CanCreate: mayAct(s, admin.RoleOrganizer)}
	v.listPager, _ = newPager("/console/competitions", r.URL.Query(), list.Total, len(list.Competitions))
	for _, x := range list.Competitions {
		v.Competitions = append(v.Competitions, competitionRow{Competition: x, StatusName: itemStatusNames[x.Status], NumQuestions: x.Questions()})
	}
	c.render(w, http.StatusOK, "competitions.html", view{Title: "竞赛", Session: s, Data: v})
	return nil
}

// tally is a pass-rate row (GET /api/v1/competitions/{id}/stats).
type tally struct {
	Name         string
	Participants int64   `json:"participants"`
	Completed    int64   `json:"completed"`
	Passed       int64   `json:"passed"`
	PassRate     float64 `json:"pass_rate"`
}

// tallyTable is a table of pass rates by town or by group.
type tallyTable struct {
	Label string
	Rows  []tally
}

type leaderRow struct {
	Rank    int     `json:"rank"`
	Score   int     `json:"score"`
	Seconds float64 `json:"seconds"`
	Town    string  `json:"town"`
	Group   string  `json:"group"`
	OpenID  string  `json:"openid"`
	Who     string  // a masked openid: enough to tell rows apart, not to find a person
	Place   string  // town and group names
}

type competitionView struct {
	Competition  content.Competition
	NumQuestions int
	StatusName   string
	CanPublish   bool
	StatsNote    string // why there are no statistics, when there are none
	HasStats     bool
	Total        tally
	ByTown       tallyTable
	ByGroup      tallyTable
	Leaders      []leaderRow
}

func (c *Console) competitionPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	return c.showCompetition(w, r, s, http.StatusOK, "")
}

func (c *Console) showCompetition(w http.ResponseWriter, r *http.Request, s *Session, status int, msg string) error {
	ctx := r.Context()
	base := "/api/v1/competitions/" + url.PathEscape(r.PathValue("id"))
	var v competitionView
	if err := c.call(ctx, s, http.MethodGet, base, nil, &v.Competition); err != nil {
		return apiFail(err)
	}
	v.StatusName, v.NumQuestions = itemStatusNames[v.Competition.Status], v.Competition.Questions()
	v.CanPublish = v.Competition.Status == content.StatusDraft && mayAct(s, admin.RoleOrganizer)
	var st struct {
		tally
		ByTown  map[string]tally `json:"by_town"`
		ByGroup map[string]tally `json:"by_group"`
	}
	err := c.call(ctx, s, http.MethodGet, base+"/stats", nil, &st)
	if v.StatsNote = statsNote(err); err == nil {
		v.HasStats, v.Total = true, st.tally
		v.ByTown = tallyTable{"镇街", c.byTaxonomy(st.ByTown, c.townIDs(), c.townName)}
		v.ByGroup = tallyTable{"人群", c.byTaxonomy(st.ByGroup, c.groupIDs(), c.groupName)}
		var leaders []leaderRow
		if err := c.call(ctx, s, http.MethodGet, base+"/leaderboard?limit=20", nil, &leaders); err == nil {
			for _, l := range leaders {
				l.Who = maskID(l.OpenID)
				l.OpenID = ""
				l.Place = c.townName(l.Town) + " · " + c.groupName(l.Group)
				v.Leaders = append(v.Leaders, l)
			}
		}
	} else if _, ok := err.(*apiError); !ok {
		return err
	}
	c.render(w, status, "competition.html", view{Title: v.Competition.Title, Session: s, Error: msg, Data: v})
	return nil
}

// statsNote says why a page has no statistics: nil error, none.
func statsNote(err error) string {
	ae, ok := err.(*apiError)
	switch {
	case err == nil:
		return ""
	case ok && ae.Status == http.StatusForbidden:
		return "您的角色不能查看统计（组织者和只读用户可以）。"
	case ok && ae.Status == http.StatusNotFound:
		return "暂无统计。"
	}
	return "统计暂时不可用。"
}

// maskID keeps the last four characters of an openid.
func maskID(id string) string {
	if len(id) <= 4 {
		return "****"
	}
	return "****" + id[len(id)-4:]
}

func (c *Console) townIDs() []string {
	ids := make([]string, len(c.cfg.Tax.Towns))
	for i, t := range c.cfg.Tax.Towns {
		ids[i] = t.ID
	}
	return ids
}

func (c *Console) groupIDs() []string {
	ids := make([]string, len(c.cfg.Tax.Groups))
	for i, g := range c.cfg.Tax.Groups {
		ids[i] = g.ID
	}
	return ids
}

func (c *Console) townName(id string) string {
	if t, ok := c.cfg.Tax.Town(id); ok {
		return t.Name
	}
	if id == "" || id == "-" {
		return "未知"
	}
	return id
}

func (c *Console) groupName(id string) string {
	if g, ok := c.cfg.Tax.Group(id); ok {
		return g.Name
	}
	if id == "" || id == "-" {
		return "未知"
	}
	return id
}

// taxonomyOrder returns m's keys in the order the taxonomy lists them
// (order), the unknown ones after them.
func taxonomyOrder[T any](m map[string]T, order []string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if i := slices.Index(order, k); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return keys
}

func (c *Console) byTaxonomy(m map[string]tally, order []string, name func(string) string) []tally {
	var out []tally
	for _, k := range taxonomyOrder(m, order) {
		t := m[k]
		t.Name = name(k)
		out = append(out, t)
	}
	return out
}

// publish publishes a competition or event (kind is the API's plural).
func (c *Console) publish(kind string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *Session) error {
		id := r.PathValue("id")
		if err := c.call(r.Context(), s, http.MethodPost, "/api/v1/"+kind+"/"+url.PathEscape(id)+"/publish", nil, nil); err != nil {
			ae, ok := err.(*apiError)
			if !ok || ae.Status == http.StatusNotFound {
				return apiFail(err)
			}
			status, msg := userMessage(err)
			if kind == "competitions" {
				return c.showCompetition(w, r, s, status, msg)
			}
			return c.showEvent(w, r, s, status, msg)
		}
		http.Redirect(w, r, "/console/"+kind+"/"+url.PathEscape(id), http.StatusSeeOther)
		return nil
	}
}

// safeName keeps letters, digits, - and _ of a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return -1
	}, s)
}

// competitionForm is the organizer's new-competition form, as typed.
type competitionForm struct {
	Title, Code, Description, StartsAt, EndsAt, Audience string
	QuestionIDs, QuestionCount, TimeLimit, PassMark      string
	Attempts                                             string
}

func (c *Console) newCompetitionPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	f := competitionForm{TimeLimit: "30", Attempts: "1", QuestionCount: "10", PassMark: "6"}
	c.render(w, http.StatusOK, "competition_form.html", view{Title: "新建竞赛", Session: s, Data: f})
	return nil
}

// formInts parses the named integer fields (empty is 0); bad ones are
// named in the message.
func formInts(msgs *[]string, fields ...intField) {
	for _, f := range fields {
		if strings.TrimSpace(f.value) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(f.value))
		if err != nil {
			*msgs = append(*msgs, f.label+"须为整数")
			continue
		}
		*f.into = n
	}
}

// intField is a form field read into an int.
type intField struct {
	label string
	value string
	into  *int
}

func (c *Console) formTime(msgs *[]string, label, v string) time.Time {
	t, err := c.parseInputTime(v)
	if err != nil {
		*msgs = append(*msgs, label+"格式不对")
	}
	return t
}

func (c *Console) createCompetition(w http.ResponseWriter, r *http.Request, s *Session) error {
	p := r.PostForm
	f := competitionForm{Title: strings.TrimSpace(p.Get("title")), Code: strings.TrimSpace(p.Get("code")),
		Description: strings.TrimSpace(p.Get("description")), StartsAt: p.Get("starts_at"), EndsAt: p.Get("ends_at"),
		Audience: strings.TrimSpace(p.Get("audience")), QuestionIDs: p.Get("question_ids"), QuestionCount: p.Get("question_count"),
		TimeLimit: p.Get("time_limit_seconds"), PassMark: p.Get("pass_mark"), Attempts: p.Get("attempts")}
	comp := content.Competition{Title: f.Title, Code: f.Code, Description: f.Description, Audience: f.Audience,
		QuestionIDs: splitList(f.QuestionIDs)}
	var msgs []string
	comp.StartsAt = c.formTime(&msgs, "开始时间", f.StartsAt)
	comp.EndsAt = c.formTime(&msgs, "结束时间", f.EndsAt)
	formInts(&msgs, intField{"题目数量", f.QuestionCount, &comp.QuestionCount}, intField{"每题限时", f.TimeLimit, &comp.TimeLimitSeconds},
		intField{"及格题数", f.PassMark, &comp.PassMark}, intField{"答题次数", f.Attempts, &comp.Attempts})
	if len(comp.QuestionIDs) > 0 && comp.QuestionCount == 0 {
		comp.QuestionCount = len(comp.QuestionIDs)
	}
	fail := func(status int, msg string) error {
		c.render(w, status, "competition_form.html", view{Title: "新建竞赛", Session: s, Error: msg, Data: f})
		return nil
	}
	if len(msgs) > 0 {
		return fail(http.StatusBadRequest, strings.Join(msgs, "；"))
	}
	var out content.Competition
	if err := c.call(r.Context(), s, http.MethodPost, "/api/v1/competitions", comp, &out); err != nil {
		status, msg := formMessage(err)
		if status == http.StatusInternalServerError {
			return err
		}
		return fail(status, msg)
	}
	http.Redirect(w, r, "/console/competitions/"+url.PathEscape(out.ID), http.StatusSeeOther)
	return nil
}

// splitList splits ids typed with spaces, commas or 、.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == ',' || r == '，' || r == '、' || r == '\t' || r == '\n' || r == '\r' || r == '　'
	})
}

// eventDoc is GET /api/v1/events/{id}: the event with its counts.
type eventDoc struct {
	content.Event
	Confirmed  int64 `json:"confirmed"`
	Waitlisted int64 `json:"waitlisted"`
	Attended   int64 `json:"attended"`
}

type eventRow struct {
	content.Event
	StatusName string
	TownName   string
	Capacity   int64
}

type eventsView struct {
	listPager
	Events    []eventRow
	CanCreate bool
}

func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	var list struct {
		Events []content.Event `json:"events"`
		Total  int             `json:"total"`
	}
	if err := c.call(r.Context(), s, http.MethodGet, "/api/v1/events"+listQuery(r.URL.Query()), nil, &list); err != nil {
		return apiFail(err)
	}
	v := eventsView{CanCreate: mayAct(s, admin.RoleOrganizer)}
	v.listPager, _ = newPager("/console/events", r.URL.Query(), list.Total, len(list.Events))
	for _, e := range list.Events {
		v.Events = append(v.Events, eventRow{Event: e, StatusName: itemStatusNames[e.Status], TownName: c.townName(e.Town), Capacity: int64(e.Capacity)})
	}
	c.render(w, http.StatusOK, "events.html", view{Title: "活动", Session: s, Data: v})
	return nil
}

// counts is a row of GET /api/v1/events/{id}/stats.
type counts struct {
	Name       string
	Invited    int64 `json:"invited"`
	SignedUp   int64 `json:"signed_up"`
	Waitlisted int64 `json:"waitlisted"`
	Reminded   int64 `json:"reminded"`
	Attended   int64 `json:"attended"`
	Feedback   int64 `json:"feedback"`
}

// countsTable is a table of event numbers by town or by group.
type countsTable struct {
	Label string
	Rows  []counts
}

type eventView struct {
	Event      eventDoc
	StatusName string
	TownName   string
	CanPublish bool
	Capacity   int64
	Free       int64 // places left
	StatsNote  string
	HasStats   bool
	Total      counts
	ByTown     countsTable
	ByGroup    countsTable
	Feedback   map[string]int64
	// CanOperate: the organizer's buttons (notice, reminders) of a
	// published event.
	CanOperate bool
	Done       string   // what the last action did
	QR         *eventQR // the check-in code, when asked for
}

func (c *Console) eventPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	if r.URL.Query().Get("done") == "reminders" {
		return c.showEvent(w, r, s, http.StatusOK, "", func(v *eventView) { v.Done = "已按活动时间安排好提醒。" })
	}
	return c.showEvent(w, r, s, http.StatusOK, "")
}

func (c *Console) showEvent(w http.ResponseWriter, r *http.Request, s *Session, status int, msg string, with ...func(*eventView)) error {
	ctx := r.Context()
	base := "/api/v1/events/" + url.PathEscape(r.PathValue("id"))
	var v eventView
	if err := c.call(ctx, s, http.MethodGet, base, nil, &v.Event); err != nil {
		return apiFail(err)
	}
	// The sign-up summary, where the sign-up routes are served (the
	// event's own answer has the counts only when they are wired in).
	var sum struct {
		Confirmed  int64 `json:"confirmed"`
		Waitlisted int64 `json:"waitlisted"`
		Attended   int64 `json:"attended"`
	}
	if err := c.call(ctx, s, http.MethodGet, base+"/signups", nil, &sum); err == nil {
		v.Event.Confirmed, v.Event.Waitlisted, v.Event.Attended = sum.Confirmed, sum.Waitlisted, sum.Attended
	}
	v.StatusName, v.TownName = itemStatusNames[v.Event.Status], c.townName(v.Event.Town)
	v.CanPublish = v.Event.Status == content.StatusDraft && mayAct(s, admin.RoleOrganizer)
	v.Capacity = int64(v.Event.Capacity)
	v.Free = max(v.Capacity-v.Event.Confirmed, 0)
	var st struct {
		Total   counts            `json:"total"`
		Answers map[string]int64  `json:"feedback_answers"`
		ByTown  map[string]counts `json:"by_town"`
		ByGroup map[string]counts `json:"by_group"`
	}
	err := c.call(ctx, s, http.MethodGet, base+"/stats", nil, &st)
	if v.StatsNote = statsNote(err); err == nil {
		v.HasStats, v.Total, v.Feedback = true, st.Total, st.Answers
		v.ByTown = countsTable{"镇街", orderCounts(st.ByTown, c.townIDs(), c.townName)}
		v.ByGroup = countsTable{"人群", orderCounts(st.ByGroup, c.groupIDs(), c.groupName)}
	} else if _, ok := err.(*apiError); !ok {
		return err
	}
	v.CanOperate = v.Event.Status == content.StatusPublished && mayAct(s, admin.RoleOrganizer)
	for _, f := range with {
		f(&v)
	}
	c.render(w, status, "event.html", view{Title: v.Event.Title, Session: s, Error: msg, Data: v})
	return nil
}

func orderCounts(m map[string]counts, order []string, name func(string) string) []counts {
	var out []counts
	for _, k := range taxonomyOrder(m, order) {
		x := m[k]
		x.Name = name(k)
		out = append(out, x)
	}
	return out
}

// eventForm is the organizer's new-event form, as typed.
type eventForm struct {
	Title, Code, Description, StartsAt, EndsAt, Venue, Town, Audience string
	Capacity, SignupOpens, SignupCloses, Reminders                    string
	Towns                                                             []option
}

func (c *Console) eventFormView(f eventForm) eventForm {
	_, _, f.Towns = c.taxOptions(nil, nil, []string{f.Town})
	return f
}

func (c *Console) newEventPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	f := c.eventFormView(eventForm{Reminders: "24h 1h"})
	c.render(w, http.StatusOK, "event_form.html", view{Title: "新建活动", Session: s, Data: f})
	return nil
}

func (c *Console) createEvent(w http.ResponseWriter, r *http.Request, s *Session) error {
	p := r.PostForm
	f := c.eventFormView(eventForm{Title: strings.TrimSpace(p.Get("title")), Code: strings.TrimSpace(p.Get("code")),
		Description: strings.TrimSpace(p.Get("description")), StartsAt: p.Get("starts_at"), EndsAt: p.Get("ends_at"),
		Venue: strings.TrimSpace(p.Get("venue")), Town: p.Get("town"), Audience: strings.TrimSpace(p.Get("audience")),
		Capacity: p.Get("capacity"), SignupOpens: p.Get("signup_opens"), SignupCloses: p.Get("signup_closes"),
		Reminders: p.Get("reminders")})
	ev := content.Event{Title: f.Title, Code: f.Code, Description: f.Description, Venue: f.Venue, Town: f.Town,
		Audience: f.Audience, Reminders: splitList(f.Reminders)}
	var msgs []string
	ev.StartsAt = c.formTime(&msgs, "开始时间", f.StartsAt)
	ev.EndsAt = c.formTime(&msgs, "结束时间", f.EndsAt)
	ev.SignupOpens = c.formTime(&msgs, "报名开始", f.SignupOpens)
	ev.SignupCloses = c.formTime(&msgs, "报名截止", f.SignupCloses)
	formInts(&msgs, intField{"名额", f.Capacity, &ev.Capacity})
	if ev.Reminders == nil {
		ev.Reminders = []string{}
	}
	fail := func(status int, msg string) error {
		c.render(w, status, "event_form.html", view{Title: "新建活动", Session: s, Error: msg, Data: f})
		return nil
	}
	if len(msgs) > 0 {
		return fail(http.StatusBadRequest, strings.Join(msgs, "；"))
	}
	var out content.Event
	if err := c.call(r.Context(), s, http.MethodPost, "/api/v1/events", ev, &out); err != nil {
		status, msg := formMessage(err)
		if status == http.StatusInternalServerError {
			return err
		}
		return fail(status, msg)
	}
	http.Redirect(w, r, "/console/events/"+url.PathEscape(out.ID), http.StatusSeeOther)
	return nil
}
