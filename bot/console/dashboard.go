package console

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// activeWindow is the "active in the last 30 days" of the dashboard, and
// how many days the growth chart shows; it must stay within
// profile.ActiveDays, how long activity and follow bitmaps live.
const activeWindow = 30

// recentCampaigns is how many campaigns the dashboard lists.
const recentCampaigns = 10

// recentShown is how many competitions and events the dashboard shows.
const recentShown = 8

// barWidth is the width in pixels of the longest town bar.
const barWidth = 160

// chartLib is the Chart.js build vendored in static/vendor (committed;
// `make assets` refreshes it from the npm package). Without it the
// dashboard would show its tables only.
const chartLib = "static/vendor/chart.umd.min.js"

// chartsEmbedded reports whether the binary carries the chart library.
func chartsEmbedded() bool {
	_, err := fs.Stat(staticFS, chartLib)
	return err == nil
}

// warnMissingAssets logs once, from New, that charts are off.
func (c *Console) warnMissingAssets() {
	if !chartsEmbedded() {
		c.logger.Warn("console: " + chartLib + " is missing, so the dashboard shows tables without charts; restore it from git (or run `make assets`) and build again")
	}
}

type column struct{ ID, Name string }

// townRow is one town of the subscribers table.
type townRow struct {
	ID         string
	Name       string
	Cells      []int64 // reachable subscribers per group, in Groups order
	Total      int64
	Active     int64
	Population int64
	Bar        int // pixels, against the biggest town
}

// Coverage is the town's reachable subscribers per resident, "暂无" when
// its population is unknown.
func (t townRow) Coverage() string { return pct(t.Total, t.Population) }

type campaignRow struct {
	*campaign.Campaign
	HasStats bool
	Stats    campaign.Stats
}

// dayRow is one calendar day of the growth table.
type dayRow struct {
	Day     string // 2006-01-02
	Follows int64  // subscribers who followed that day
	Active  int64  // subscribers active that day
}

// quizRow is one competition's participation.
type quizRow struct {
	ID, Title                     string
	Participants, Completed, Pass int64
	PassRate                      float64 // 0–1
}

// attendanceRow is one event's sign-ups and attendance.
type attendanceRow struct {
	ID, Title  string
	StartsAt   time.Time
	Capacity   int
	Confirmed  int64
	Waitlisted int64
	Attended   int64
}

// Dashboard is what the dashboard shows.
type Dashboard struct {
	Account     string
	Groups      []column
	Towns       []townRow
	GroupTotals []int64
	Reachable   int64
	Active      int64
	Population  int64
	Campaigns   []campaignRow
	BarWidth    int
	// Growth is the last activeWindow days, oldest first.
	Growth  []dayRow
	Follows int64 // over Growth's days
	// Quizzes and Events are nil when the user's role may not read them
	// (QuizNote, EventNote say why) or the API has no such routes.
	Quizzes   []quizRow
	QuizNote  string
	Events    []attendanceRow
	EventNote string
	// Charts is whether the chart library is embedded; Chart is the
	// charts' data, the same numbers as the tables.
	Charts bool
	Chart  chartData
}

// chartData is the JSON the dashboard's charts.js reads from a
// <script type="application/json"> block.
type chartData struct {
	Towns      []string  `json:"towns"`
	Reachable  []int64   `json:"reachable"`
	Active     []int64   `json:"active"`
	Population []int64   `json:"population"`
	Coverage   []float64 `json:"coverage"` // percent
	Groups     []string  `json:"groups"`
	// ByGroup[g][t] is town t's reachable subscribers of group g.
	ByGroup [][]int64 `json:"by_group"`
	Days    []string  `json:"days"`
	Follows []int64   `json:"follows"`
	Daily   []int64   `json:"daily_active"`
	// Campaigns, with their sent and click counts and click-through (%).
	Campaigns []string  `json:"campaigns"`
	Sent      []int64   `json:"sent"`
	Clicks    []int64   `json:"clicks"`
	CTR       []float64 `json:"ctr"`
	Quizzes   []string  `json:"quizzes"`
	PassRate  []float64 `json:"pass_rate"` // percent
	Events    []string  `json:"events"`
	Confirmed []int64   `json:"confirmed"`
	Attended  []int64   `json:"attended"`
}

// dashboard serves GET /console/?account=.
func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	if !profile.ValidAccount(account) {
		return &statusError{status: http.StatusBadRequest, msg: "无效的公众号：" + account}
	}
	d, err := c.dashboardFor(r.Context(), s, account)
	if err != nil {
		return err
	}
	c.render(w, http.StatusOK, "dashboard.html", view{Title: "概览", Session: s, Data: d})
	return nil
}

// dashboardFor is the Dashboard with what s may read through the admin
// API besides: the competitions' pass rates and the events' attendance.
// All of it runs at once.
func (c *Console) dashboardFor(ctx context.Context, s *Session, account string) (*Dashboard, error) {
	var quizzes []quizRow
	var events []attendanceRow
	var quizNote, eventNote string
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { quizzes, quizNote, errs[0] = c.recentQuizzes(ctx, s, account) })
	wg.Go(func() { events, eventNote, errs[1] = c.recentEvents(ctx, s, account) })
	d, err := c.Dashboard(ctx, account)
	wg.Wait()
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", account, err)
	}
	d.Quizzes, d.QuizNote, d.Events, d.EventNote = quizzes, quizNote, events, eventNote
	d.Chart = d.chartData()
	return d, nil
}

// Dashboard counts what the dashboard shows for account from the stores:
// reachable subscribers by town × group, active subscribers by town, and
// follows and activity per day (three counts inside Redis over the
// bitmap indexes, never a scan), and the recent campaigns with their
// stats, all at once.
func (c *Console) Dashboard(ctx context.Context, account string) (*Dashboard, error) {
	tax := c.cfg.Tax
	now := c.cfg.Now()
	d := &Dashboard{Account: account, BarWidth: barWidth, Charts: chartsEmbedded()}
	towns := make([]string, len(tax.Towns))
	for i, t := range tax.Towns {
		towns[i] = profile.TownIndex(t.ID)
	}
	groups := make([]string, len(tax.Groups))
	for i, g := range tax.Groups {
		groups[i] = profile.GroupIndex(g.ID)
		d.Groups = append(d.Groups, column{ID: g.ID, Name: g.Name})
	}
	days := make([]time.Time, activeWindow)
	var dayRows []string
	for i := range days {
		days[i] = calendarDay(now, activeWindow-1-i)
		dayRows = append(dayRows, profile.FollowIndex(days[i]), profile.ActiveIndex(days[i]))
	}

	var reach, active, daily profile.Counts
	errs := make([]error, 4)
	var wg sync.WaitGroup
	wg.Go(func() {
		reach, errs[0] = c.cfg.Profiles.Count(ctx, account, profile.Reachable(), towns, groups)
	})
	wg.Go(func() {
		// Of the reachable ones, so that the share has one denominator.
		active, errs[1] = c.cfg.Profiles.Count(ctx, account, profile.And(profile.Reachable(), activeSince(now, activeWindow)), towns, nil)
	})
	wg.Go(func() { daily, errs[2] = c.cfg.Profiles.Count(ctx, account, nil, dayRows, nil) })
	wg.Go(func() { d.Campaigns, errs[3] = c.recentCampaigns(ctx, account, recentCampaigns) })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", account, err)
	}

	d.Reachable, d.Active = reach.Total, active.Total
	d.GroupTotals = make([]int64, len(groups))
	var biggest int64
	for i, t := range tax.Towns {
		row := townRow{ID: t.ID, Name: t.Name, Total: reach.Rows[towns[i]], Active: active.Rows[towns[i]], Population: t.Population}
		for j, g := range groups {
			n := reach.Cells[towns[i]][g]
			row.Cells = append(row.Cells, n)
			d.GroupTotals[j] += n
		}
		biggest = max(biggest, row.Total)
		d.Population += t.Population
		d.Towns = append(d.Towns, row)
	}
	for i := range d.Towns {
		if biggest > 0 {
			d.Towns[i].Bar = int(d.Towns[i].Total * barWidth / biggest)
		}
	}
	for _, day := range days {
		row := dayRow{Day: day.Format("2006-01-02"), Follows: daily.Rows[profile.FollowIndex(day)],
			Active: daily.Rows[profile.ActiveIndex(day)]}
		d.Follows += row.Follows
		d.Growth = append(d.Growth, row)
	}
	d.Chart = d.chartData()
	return d, nil
}

// chartData copies the tables' numbers into the charts' JSON.
func (d *Dashboard) chartData() chartData {
	cd := chartData{ByGroup: make([][]int64, len(d.Groups))}
	for _, g := range d.Groups {
		cd.Groups = append(cd.Groups, g.Name)
	}
	for _, t := range d.Towns {
		cd.Towns = append(cd.Towns, t.Name)
		cd.Reachable = append(cd.Reachable, t.Total)
		cd.Active = append(cd.Active, t.Active)
		cd.Population = append(cd.Population, t.Population)
		cd.Coverage = append(cd.Coverage, percent(t.Total, t.Population))
		for j, n := range t.Cells {
			cd.ByGroup[j] = append(cd.ByGroup[j], n)
		}
	}
	for _, g := range d.Growth {
		cd.Days = append(cd.Days, g.Day[5:])
		cd.Follows = append(cd.Follows, g.Follows)
		cd.Daily = append(cd.Daily, g.Active)
	}
	// Oldest first, as a chart reads left to right.
	for i := len(d.Campaigns) - 1; i >= 0; i-- {
		r := d.Campaigns[i]
		if !r.HasStats {
			continue
		}
		cd.Campaigns = append(cd.Campaigns, r.Name)
		cd.Sent = append(cd.Sent, r.Stats.Sent)
		cd.Clicks = append(cd.Clicks, r.Stats.Clicks)
		cd.CTR = append(cd.CTR, percent(r.Stats.Clicks, r.Stats.Sent))
	}
	for _, q := range d.Quizzes {
		cd.Quizzes = append(cd.Quizzes, q.Title)
		cd.PassRate = append(cd.PassRate, round1(q.PassRate*100))
	}
	for _, e := range d.Events {
		cd.Events = append(cd.Events, e.Title)
		cd.Confirmed = append(cd.Confirmed, e.Confirmed)
		cd.Attended = append(cd.Attended, e.Attended)
	}
	return cd
}

// percent is part of whole in percent with one decimal, 0 for none.
func percent(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return round1(float64(part) * 100 / float64(whole))
}

func round1(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 1, 64), 64)
	return v
}

// calendarDay is noon of the calendar day back days before now's (in
// now's location): noon, so a daylight-saving change never skips or
// repeats a day.
func calendarDay(now time.Time, back int) time.Time {
	y, m, day := now.Date()
	return time.Date(y, m, day-back, 12, 0, 0, 0, now.Location())
}

// activeSince is the segment of subscribers active on any of the last
// days calendar days up to now's (in now's location).
func activeSince(now time.Time, days int) profile.Program {
	ps := make([]profile.Program, days)
	for i := range days {
		ps[i] = profile.Term(profile.ActiveIndex(calendarDay(now, i)))
	}
	return profile.Or(ps...)
}

// recentCampaigns lists the n newest campaigns; those that started get
// their numbers (queued, sent, clicks) when the engine is there, read for
// all of them at once (campaign.Engine.Totals: plain bit counts in one
// pipeline; full Stats for 100 campaigns took 290 ms at 1.5 M).
func (c *Console) recentCampaigns(ctx context.Context, account string, n int) ([]campaignRow, error) {
	list, err := c.cfg.Campaigns.List(ctx, account, n)
	if err != nil {
		return nil, err
	}
	rows := make([]campaignRow, len(list))
	var started []string
	var at []int
	for i, camp := range list {
		rows[i].Campaign = camp
		if c.cfg.Engine != nil && camp.StartedAt != nil {
			started, at = append(started, camp.ID), append(at, i)
		}
	}
	if len(started) == 0 {
		return rows, nil
	}
	totals, err := c.cfg.Engine.Totals(ctx, account, started)
	if err != nil {
		return nil, fmt.Errorf("campaign totals: %w", err)
	}
	for k, i := range at {
		rows[i].Stats = campaign.Stats{Queued: rows[i].Planned, Sent: totals[k].Sent, Clicks: totals[k].Clicks}
		rows[i].HasStats = true
	}
	return rows, nil
}

// optional reads an API answer the dashboard can do without: a route the
// API does not have (404) is nothing to show, a role that may not read it
// (403) a note.
func optional(err error) (note string, _ error) {
	var ae *apiError
	switch {
	case err == nil:
		return "", nil
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return "", nil
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
		return "您的角色不能查看此项", nil
	}
	return "", err
}

// acctPath is apiPath with the account.
func acctPath(path, account string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	if account != "" {
		q.Set("account", account)
	}
	return apiPath(path, q)
}

// recentQuizzes reads the published competitions' pass rates through the
// API (GET /api/v1/competitions, /api/v1/competitions/{id}/stats).
func (c *Console) recentQuizzes(ctx context.Context, s *Session, account string) ([]quizRow, string, error) {
	var list struct {
		Competitions []struct {
			ID       string    `json:"id"`
			Title    string    `json:"title"`
			StartsAt time.Time `json:"starts_at"`
		} `json:"competitions"`
	}
	err := c.call(ctx, s, http.MethodGet, acctPath("/api/v1/competitions", account, url.Values{"status": {"published"}, "limit": {"100"}}), nil, &list)
	if note, err := optional(err); note != "" || err != nil || list.Competitions == nil {
		return nil, note, err
	}
	comps := list.Competitions
	sort.SliceStable(comps, func(i, j int) bool { return comps[i].StartsAt.After(comps[j].StartsAt) })
	comps = comps[:min(len(comps), recentShown)]
	rows := make([]quizRow, len(comps))
	errs := make([]error, len(comps))
	var wg sync.WaitGroup
	for i, comp := range comps {
		wg.Go(func() {
			var st struct {
				Participants int64   `json:"participants"`
				Completed    int64   `json:"completed"`
				Passed       int64   `json:"passed"`
				PassRate     float64 `json:"pass_rate"`
			}
			errs[i] = c.call(ctx, s, http.MethodGet, acctPath("/api/v1/competitions/"+url.PathEscape(comp.ID)+"/stats", account, nil), nil, &st)
			rows[i] = quizRow{ID: comp.ID, Title: comp.Title, Participants: st.Participants, Completed: st.Completed,
				Pass: st.Passed, PassRate: st.PassRate}
		})
	}
	wg.Wait()
	note, err := optional(errors.Join(errs...))
	if note != "" || err != nil {
		return nil, note, err
	}
	return rows, "", nil
}

// recentEvents reads the published events' sign-ups and attendance
// through the API (GET /api/v1/events, /api/v1/events/{id}/signups).
func (c *Console) recentEvents(ctx context.Context, s *Session, account string) ([]attendanceRow, string, error) {
	var list struct {
		Events []struct {
			ID       string    `json:"id"`
			Title    string    `json:"title"`
			StartsAt time.Time `json:"starts_at"`
			Capacity int       `json:"capacity"`
		} `json:"events"`
	}
	err := c.call(ctx, s, http.MethodGet, acctPath("/api/v1/events", account, url.Values{"status": {"published"}, "limit": {"100"}}), nil, &list)
	if note, err := optional(err); note != "" || err != nil || list.Events == nil {
		return nil, note, err
	}
	evs := list.Events
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].StartsAt.After(evs[j].StartsAt) })
	evs = evs[:min(len(evs), recentShown)]
	rows := make([]attendanceRow, len(evs))
	errs := make([]error, len(evs))
	var wg sync.WaitGroup
	for i, ev := range evs {
		wg.Go(func() {
			var sum struct {
				Confirmed  int64 `json:"confirmed"`
				Waitlisted int64 `json:"waitlisted"`
				Attended   int64 `json:"attended"`
			}
			errs[i] = c.call(ctx, s, http.MethodGet, acctPath("/api/v1/events/"+url.PathEscape(ev.ID)+"/signups", account, nil), nil, &sum)
			rows[i] = attendanceRow{ID: ev.ID, Title: ev.Title, StartsAt: ev.StartsAt, Capacity: ev.Capacity,
				Confirmed: sum.Confirmed, Waitlisted: sum.Waitlisted, Attended: sum.Attended}
		})
	}
	wg.Wait()
	note, err := optional(errors.Join(errs...))
	if note != "" || err != nil {
		return nil, note, err
	}
	return rows, "", nil
}

var statusNames = map[campaign.Status]string{
	campaign.StatusDraft: "草稿", campaign.StatusScheduled: "已排期", campaign.StatusRunning: "发送中",
	campaign.StatusPaused: "已暂停", campaign.StatusDone: "已完成", campaign.StatusCancelled: "已取消",
}

// formatNum writes n with thousands separators: 1,500,000.
func formatNum(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// pct is part of whole as a percentage with one decimal, "暂无" when
// whole is 0. A share too small for that (a new account's coverage of a
// town of 100,000) is in per mille, so it does not read as zero.
func pct(part, whole int64) string {
	if whole <= 0 {
		return "暂无"
	}
	p := float64(part) * 100 / float64(whole)
	if part > 0 && p < 0.05 {
		return strconv.FormatFloat(p*10, 'f', 2, 64) + "‰"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}
