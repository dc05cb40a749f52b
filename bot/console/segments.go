package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content/segment"
)

// The segment builder: pickers for groups, towns, interests and recent
// activity that compose a segment expression, an expression field for
// whatever the pickers cannot say, and the audience's size counted by the
// admin API's preview (bitmap counts in Redis, never a scan of
// subscribers). static/segments.js refreshes the count as the pickers
// change; without JavaScript the form's 预览 button does the same.

// audienceRoutes adds the pages of the segment builder with live counts.
func (c *Console) audienceRoutes() {
	c.handle("GET /console/segments", c.segmentsPage, admin.Roles()...)
	c.handle("GET /console/segments/count", c.segmentCount, admin.Roles()...)
	c.handle("POST /console/segments", c.segmentSave, admin.RoleOrganizer)
	c.handle("POST /console/segments/{name}/delete", c.segmentDelete, admin.RoleOrganizer)
}

// activeChoices are the "active in the last N days" the picker offers;
// every one must stay within profile.ActiveDays.
var activeChoices = []int{1, 7, 14, 30}

// audienceForm is the builder's form: pickers and an expression. The
// audience is the pickers' terms and the expression, all of them.
type audienceForm struct {
	Groups, Towns, Interests []string
	Active                   string // days, "" for any
	Expr                     string // free text, in the segment language
	Segment                  string // a saved segment's name (campaign composer)
}

func readAudienceForm(q url.Values) audienceForm {
	return audienceForm{Groups: q["group"], Towns: q["town"], Interests: q["interest"],
		Active: strings.TrimSpace(q.Get("active")), Expr: strings.TrimSpace(q.Get("expr")),
		Segment: strings.TrimSpace(q.Get("segment"))}
}

// expression composes the form's audience: each picker a term (its
// values joined by |), the free expression in parentheses, joined by &.
// Values are not checked here: the API's parser does, with positions.
func (f audienceForm) expression() string {
	var parts []string
	term := func(key string, vals []string) {
		var vs []string
		for _, v := range vals {
			if v = strings.TrimSpace(v); v != "" {
				vs = append(vs, v)
			}
		}
		switch len(vs) {
		case 0:
		case 1:
			parts = append(parts, key+":"+vs[0])
		default:
			parts = append(parts, key+":("+strings.Join(vs, "|")+")")
		}
	}
	term(segment.KeyGroup, f.Groups)
	term(segment.KeyTown, f.Towns)
	term(segment.KeyInterest, f.Interests)
	if f.Active != "" {
		parts = append(parts, segment.KeyActive+":"+f.Active+"d")
	}
	if f.Expr != "" {
		if len(parts) == 0 {
			return f.Expr
		}
		parts = append(parts, "("+f.Expr+")")
	}
	return strings.Join(parts, " & ")
}

func options(ids, names []string, chosen []string) []option {
	out := make([]option, len(ids))
	for i := range ids {
		out[i] = option{ID: ids[i], Name: names[i], Checked: slicesContainsString(chosen, ids[i])}
	}
	return out
}

func slicesContainsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// pickers are the builder's choices from the taxonomy, with the form's
// choices checked.
type pickers struct {
	Groups, Towns, Topics, Active []option
}

func (c *Console) pickers(f audienceForm) pickers {
	tax := c.cfg.Tax
	var p pickers
	var ids, names []string
	for _, g := range tax.Groups {
		ids, names = append(ids, g.ID), append(names, g.Name)
	}
	p.Groups = options(ids, names, f.Groups)
	ids, names = nil, nil
	for _, t := range tax.Towns {
		ids, names = append(ids, t.ID), append(names, t.Name)
	}
	p.Towns = options(ids, names, f.Towns)
	ids, names = nil, nil
	for _, t := range tax.Topics {
		ids, names = append(ids, t.ID), append(names, t.Name)
	}
	p.Topics = options(ids, names, f.Interests)
	for _, d := range activeChoices {
		if d > profile.ActiveDays {
			continue
		}
		s := strconv.Itoa(d)
		p.Active = append(p.Active, option{ID: s, Name: "最近 " + s + " 天", Checked: f.Active == s})
	}
	return p
}

// countRow is one town's or group's share of an audience.
type countRow struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// audienceCount is an audience's size, or why the expression is wrong.
// It is the JSON of GET /console/segments/count too.
type audienceCount struct {
	Expr   string     `json:"expr"` // canonical, when valid
	Count  int64      `json:"count"`
	Towns  []countRow `json:"towns,omitempty"`
	Groups []countRow `json:"groups,omitempty"`
	// Error is for the organizer, in Chinese; Position (in characters,
	// 0-based) marks where in Typed the problem is, when HasPos.
	Error    string `json:"error,omitempty"`
	Typed    string `json:"typed,omitempty"`
	Position int    `json:"position"`
	HasPos   bool   `json:"has_position"`
	// Before, At and After split Typed at Position, for the mark.
	Before string `json:"before,omitempty"`
	At     string `json:"at,omitempty"`
	After  string `json:"after,omitempty"`
}

// preview counts expr through the API (POST /api/v1/segments/preview:
// it changes nothing). A bad expression is an audienceCount with Error;
// the error return is for failures of the service.
func (c *Console) preview(ctx context.Context, s *Session, account, expr string) (*audienceCount, error) {
	var out struct {
		Expr    string           `json:"expr"`
		Count   int64            `json:"count"`
		ByTown  map[string]int64 `json:"by_town"`
		ByGroup map[string]int64 `json:"by_group"`
	}
	err := c.call(ctx, s, http.MethodPost, apiPath("/api/v1/segments/preview", url.Values{"account": {account}}),
		map[string]any{"expr": expr}, &out)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		return c.badExpression(expr, ae), nil
	}
	if err != nil {
		return nil, err
	}
	ac := &audienceCount{Expr: out.Expr, Count: out.Count}
	for _, t := range c.cfg.Tax.Towns {
		ac.Towns = append(ac.Towns, countRow{ID: t.ID, Name: t.Name, Count: out.ByTown[t.ID]})
	}
	for _, g := range c.cfg.Tax.Groups {
		ac.Groups = append(ac.Groups, countRow{ID: g.ID, Name: g.Name, Count: out.ByGroup[g.ID]})
	}
	return ac, nil
}

// badExpression explains an expression the API refused, in Chinese. The
// API's answer is the authority; the (pure) parser is run again here
// only to read its error's parts for the translation.
func (c *Console) badExpression(expr string, ae *apiError) *audienceCount {
	ac := &audienceCount{Typed: expr, Position: ae.Position, HasPos: ae.HasPos}
	var se *segment.SyntaxError
	if _, err := segment.Parse(expr, c.cfg.Tax); errors.As(err, &se) {
		ac.Error, ac.Position, ac.HasPos = c.syntaxMessage(se), se.Pos, true
	} else {
		_, msg := userMessage(ae)
		ac.Error = msg
	}
	if ac.HasPos {
		rs := []rune(expr)
		p := min(max(ac.Position, 0), len(rs))
		ac.Before = string(rs[:p])
		if p < len(rs) {
			ac.At, ac.After = string(rs[p:p+1]), string(rs[p+1:])
		}
		ac.Error = "第 " + strconv.Itoa(p+1) + " 个字处：" + ac.Error
	}
	return ac
}

// syntaxTexts say each of the parser's errors (segment.Codes) in Chinese,
// from the error's Args; TestSyntaxTexts checks every code has one.
var syntaxTexts = map[segment.Code]func(a []string) string{
	segment.CodeTooLong:         func(a []string) string { return "表达式太长（" + a[0] + " 个字，最多 " + a[1] + " 个）" },
	segment.CodeUnmatchedClose:  func([]string) string { return "多了一个右括号“)”" },
	segment.CodeMissingOperator: func(a []string) string { return "“" + a[0] + "”前面缺少 &（且）或 |（或）" },
	segment.CodeUnexpected:      func(a []string) string { return "多余的“" + a[0] + "”" },
	segment.CodeBadCharacter:    func(a []string) string { return "无法识别的字符“" + a[0] + "”" },
	segment.CodeTooDeep:         func(a []string) string { return "括号嵌套超过 " + a[0] + " 层" },
	segment.CodeMissingClose:    func([]string) string { return "缺少右括号“)”" },
	segment.CodeEnds: func(a []string) string {
		if a[0] == "" {
			return "表达式是空的，缺少条件"
		}
		return "表达式在“" + a[0] + "”之后就结束了，还缺少一个条件"
	},
	segment.CodeExpectedTerm: func(a []string) string {
		if a[0] == "" {
			return "这里应是一个条件，却是“" + a[1] + "”"
		}
		return "“" + a[0] + "”后面应是一个条件，却是“" + a[1] + "”"
	},
	segment.CodeMissingColon:      func(a []string) string { return a[0] + " 后面缺少“:”和取值" },
	segment.CodeFlagValue:         func(a []string) string { return a[0] + " 不带取值" },
	segment.CodeListSeparator:     func(a []string) string { return a[0] + ":(...) 列表中应是 | 或 )，却是“" + a[1] + "”" },
	segment.CodeMissingValue:      func(a []string) string { return a[0] + ": 后面缺少取值" },
	segment.CodeListMissingValue:  func(a []string) string { return a[0] + ":(...) 列表中缺少取值" },
	segment.CodeListExpectedValue: func(a []string) string { return a[0] + ":(...) 列表中应是取值，却是“" + a[1] + "”" },
	segment.CodeBadSource:         func(a []string) string { return "来源“" + a[0] + "”写法不对" },
	segment.CodeNoTaxonomy:        func(a []string) string { return "无法查找“" + a[1] + "”" },
	segment.CodeBadWindow:         func(a []string) string { return "活跃天数“" + a[0] + "”写法不对，应写成 active:30d" },
	segment.CodeWindowRange: func(a []string) string {
		return "活跃天数“" + a[0] + "”超出范围（1 到 " + a[1] + " 天）"
	},
	segment.CodeUnknownValue: func(a []string) string {
		what := map[string]string{segment.KeyGroup: "人群", segment.KeyTown: "镇街", segment.KeyInterest: "话题"}[a[0]]
		return "没有这个" + what + "：“" + a[1] + "”"
	},
	segment.CodeUnknownWord: func(a []string) string { return "无法识别“" + a[1] + "”" },
}

// syntaxMessage is a syntax error in Chinese with a hint to fix it.
func (c *Console) syntaxMessage(se *segment.SyntaxError) string {
	say, ok := syntaxTexts[se.Code]
	if !ok {
		return se.Error() // a code added without a text: TestSyntaxTexts fails
	}
	msg := say(se.Args)
	switch {
	case se.Suggestion != "":
		msg += "。您是不是想写 " + se.Suggestion + c.termName(se.Suggestion) + "？"
	case se.Code == segment.CodeUnknownValue:
		msg += "。请从上面的选项中选择，或写它的中文名"
	case se.Hint != "":
		msg += "。条件写作 键:值，如 group:farmer、town:派潭、interest:litchi、active:30d；用 &（且）、|（或）、!（非）和括号连接"
	}
	return msg
}

// termName is " (派潭镇)" for a suggested value that names a group, town
// or topic (paitan, or town:paitan); "" otherwise.
func (c *Console) termName(suggestion string) string {
	id := suggestion
	if _, v, ok := strings.Cut(suggestion, ":"); ok {
		id = v
	}
	if t, ok := c.cfg.Tax.Town(id); ok {
		return "（" + t.Name + "）"
	}
	if g, ok := c.cfg.Tax.Group(id); ok {
		return "（" + g.Name + "）"
	}
	if tp, ok := c.cfg.Tax.Topic(id); ok {
		return "（" + tp.Name + "）"
	}
	return ""
}

// segmentsView is the builder page.
type segmentsView struct {
	Form    audienceForm
	Pickers pickers
	Count   *audienceCount // nil before 预览
	Saved   []savedRow
	Name    string // the save form's name
	Saving  bool   // the save form was submitted (its errors show there)
	CanEdit bool
	Account string
	Done    string // what the last POST did
}

// savedRow is a saved segment with its audience now.
type savedRow struct {
	segment.Saved
	Count int64
	Bad   bool // its expression no longer parses (the taxonomy changed)
}

func canOrganize(s *Session) bool {
	return s.Role == admin.RoleAdmin || s.Role == admin.RoleOrganizer
}

// segmentsPage serves GET /console/segments: the builder, its count when
// the form was submitted (预览), and the saved segments.
func (c *Console) segmentsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	f := readAudienceForm(q)
	v := segmentsView{Form: f, Pickers: c.pickers(f), CanEdit: canOrganize(s), Account: admin.Account(r)}
	switch {
	case q.Get("saved") != "":
		v.Done = "已保存受众 " + q.Get("saved") + "。"
	case q.Get("deleted") != "":
		v.Done = "已删除受众 " + q.Get("deleted") + "。"
	}
	if q.Has("expr") || q.Has("group") || q.Has("town") || q.Has("interest") || q.Has("active") {
		var err error
		if v.Count, err = c.preview(r.Context(), s, v.Account, f.expression()); err != nil {
			return apiFail(err)
		}
	}
	return c.renderSegments(w, r, s, http.StatusOK, "", &v)
}

func (c *Console) renderSegments(w http.ResponseWriter, r *http.Request, s *Session, status int, errMsg string, v *segmentsView) error {
	saved, err := c.savedSegments(r.Context(), s, v.Account)
	if err != nil {
		return apiFail(err)
	}
	v.Saved = saved
	c.render(w, status, "segments.html", view{Title: "受众", Session: s, Error: errMsg, Data: v})
	return nil
}

// savedSegments lists the saved segments with their counts (one bitmap
// count each).
// countsAtOnce bounds the saved segments counted at once (each is one
// pipelined script call over every shard).
const countsAtOnce = 16

func (c *Console) savedSegments(ctx context.Context, s *Session, account string) ([]savedRow, error) {
	var list struct {
		Segments []segment.Saved `json:"segments"`
	}
	if err := c.call(ctx, s, http.MethodGet, apiPath("/api/v1/segments", url.Values{"account": {account}}), nil, &list); err != nil {
		return nil, err
	}
	rows := make([]savedRow, len(list.Segments))
	errs := make([]error, len(rows))
	now := c.cfg.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, countsAtOnce)
	for i, sg := range list.Segments {
		rows[i].Saved = sg
		e, err := segment.Parse(sg.Expr, c.cfg.Tax)
		if err != nil {
			rows[i].Bad = true // the taxonomy changed since it was saved
			continue
		}
		// The total only, straight from the bitmaps: the list shows no
		// breakdown, which is most of a preview's work.
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var n profile.Counts
			n, errs[i] = c.cfg.Profiles.Count(ctx, account, segment.Audience(e.Compile(now, now.Location())), nil, nil)
			rows[i].Count = n.Total
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("count saved segments: %w", err)
	}
	return rows, nil
}

// segmentCount serves GET /console/segments/count (the live count, JSON):
// the same fields as the builder's form, or segment=<saved name>. A bad
// expression answers 400 with the error and its position.
func (c *Console) segmentCount(w http.ResponseWriter, r *http.Request, s *Session) error {
	f := readAudienceForm(r.URL.Query())
	account := admin.Account(r)
	expr := f.expression()
	if f.Segment != "" {
		var saved segment.Saved
		err := c.call(r.Context(), s, http.MethodGet, apiPath("/api/v1/segments/"+url.PathEscape(f.Segment), url.Values{"account": {account}}), nil, &saved)
		if err != nil {
			_, msg := userMessage(err)
			writeCount(w, http.StatusNotFound, &audienceCount{Error: "找不到该受众：" + msg})
			return nil
		}
		expr = saved.Expr
	}
	ac, err := c.preview(r.Context(), s, account, expr)
	if err != nil {
		status, msg := userMessage(err)
		if msg == "" {
			msg = "服务器内部错误，请稍后重试"
			c.logger.Error("console segment count failed", "err", err)
		}
		writeCount(w, status, &audienceCount{Error: msg})
		return nil
	}
	status := http.StatusOK
	if ac.Error != "" {
		status = http.StatusBadRequest
	}
	writeCount(w, status, ac)
	return nil
}

func writeCount(w http.ResponseWriter, status int, ac *audienceCount) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(ac)
}

// segmentSave serves POST /console/segments: save the builder's audience
// under a name. A bad name or expression shows the builder again with
// the error; nothing is saved.
func (c *Console) segmentSave(w http.ResponseWriter, r *http.Request, s *Session) error {
	f := readAudienceForm(r.PostForm)
	name := strings.TrimSpace(r.PostForm.Get("name"))
	account := admin.Account(r)
	v := segmentsView{Form: f, Pickers: c.pickers(f), CanEdit: true, Name: name, Saving: true, Account: account}
	expr := f.expression()
	err := c.call(r.Context(), s, http.MethodPost, apiPath("/api/v1/segments", url.Values{"account": {account}}),
		map[string]string{"name": name, "expr": expr}, nil)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.HasPos:
		v.Count = c.badExpression(expr, ae)
		return c.renderSegments(w, r, s, http.StatusBadRequest, "未保存："+v.Count.Error, &v)
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest && ae.Fields["name"] != "":
		return c.renderSegments(w, r, s, http.StatusBadRequest, "未保存：名称只能用 1 到 40 个小写字母、数字、_ 或 -", &v)
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		return c.renderSegments(w, r, s, http.StatusConflict, "未保存：已有同名的受众 "+name+"，请换一个名称", &v)
	case err != nil:
		return apiFail(err)
	}
	http.Redirect(w, r, "/console/segments?saved="+url.QueryEscape(name), http.StatusSeeOther)
	return nil
}

// segmentDelete serves POST /console/segments/{name}/delete.
func (c *Console) segmentDelete(w http.ResponseWriter, r *http.Request, s *Session) error {
	name := r.PathValue("name")
	err := c.call(r.Context(), s, http.MethodDelete,
		apiPath("/api/v1/segments/"+url.PathEscape(name), url.Values{"account": {admin.Account(r)}}), nil, nil)
	if err != nil {
		return apiFail(err)
	}
	http.Redirect(w, r, "/console/segments?deleted="+url.QueryEscape(name), http.StatusSeeOther)
	return nil
}
