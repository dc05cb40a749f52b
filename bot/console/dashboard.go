package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// activeWindow is the "active in the last 30 days" of the dashboard; it
// must stay within profile.ActiveDays, how long activity bitmaps live.
const activeWindow = 30

// recentCampaigns is how many campaigns the dashboard lists.
const recentCampaigns = 10

// barWidth is the width in pixels of the longest town bar.
const barWidth = 160

type column struct{ ID, Name string }

// townRow is one town of the subscribers table.
type townRow struct {
	Name   string
	Cells  []int64 // reachable subscribers per group, in Groups order
	Total  int64
	Active int64
	Bar    int // pixels, against the biggest town
}

type campaignRow struct {
	*campaign.Campaign
	HasStats bool
	Stats    campaign.Stats
}

// Dashboard is what the dashboard shows.
type Dashboard struct {
	Account     string
	Groups      []column
	Towns       []townRow
	GroupTotals []int64
	Reachable   int64
	Active      int64
	Campaigns   []campaignRow
	BarWidth    int
}

// dashboard serves GET /console/?account=.
func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	if !profile.ValidAccount(account) {
		return &statusError{status: http.StatusBadRequest, msg: "无效的公众号：" + account}
	}
	d, err := c.Dashboard(r.Context(), account)
	if err != nil {
		return err
	}
	c.render(w, http.StatusOK, "dashboard.html", view{Title: "概览", Session: s, Data: d})
	return nil
}

// Dashboard counts what the dashboard shows for account: reachable
// subscribers by town × group and active subscribers by town (two counts
// inside Redis, run at once), and the recent campaigns with their stats.
func (c *Console) Dashboard(ctx context.Context, account string) (*Dashboard, error) {
	tax := c.cfg.Tax
	d := &Dashboard{Account: account, BarWidth: barWidth}
	towns := make([]string, len(tax.Towns))
	for i, t := range tax.Towns {
		towns[i] = profile.TownIndex(t.ID)
	}
	groups := make([]string, len(tax.Groups))
	for i, g := range tax.Groups {
		groups[i] = profile.GroupIndex(g.ID)
		d.Groups = append(d.Groups, column{ID: g.ID, Name: g.Name})
	}

	var reach, active profile.Counts
	var reachErr, activeErr, campErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		reach, reachErr = c.cfg.Profiles.Count(ctx, account, profile.Reachable(), towns, groups)
	})
	wg.Go(func() {
		active, activeErr = c.cfg.Profiles.Count(ctx, account, activeSince(c.cfg.Now(), activeWindow), towns, nil)
	})
	wg.Go(func() { d.Campaigns, campErr = c.recentCampaigns(ctx, account) })
	wg.Wait()
	for _, err := range []error{reachErr, activeErr, campErr} {
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", account, err)
		}
	}

	d.Reachable, d.Active = reach.Total, active.Total
	d.GroupTotals = make([]int64, len(groups))
	var biggest int64
	for i, t := range tax.Towns {
		row := townRow{Name: t.Name, Total: reach.Rows[towns[i]], Active: active.Rows[towns[i]]}
		for j, g := range groups {
			n := reach.Cells[towns[i]][g]
			row.Cells = append(row.Cells, n)
			d.GroupTotals[j] += n
		}
		biggest = max(biggest, row.Total)
		d.Towns = append(d.Towns, row)
	}
	for i := range d.Towns {
		if biggest > 0 {
			d.Towns[i].Bar = int(d.Towns[i].Total * barWidth / biggest)
		}
	}
	return d, nil
}

// activeSince is the segment of subscribers active on any of the last
// days calendar days up to now's (in now's location).
func activeSince(now time.Time, days int) profile.Program {
	y, m, day := now.Date()
	ps := make([]profile.Program, days)
	for i := range days {
		// Noon, so a daylight-saving change never skips or repeats a day.
		ps[i] = profile.Term(profile.ActiveIndex(time.Date(y, m, day-i, 12, 0, 0, 0, now.Location())))
	}
	return profile.Or(ps...)
}

// recentCampaigns lists the newest campaigns; those that started get their
// stats when the engine is there.
func (c *Console) recentCampaigns(ctx context.Context, account string) ([]campaignRow, error) {
	list, err := c.cfg.Campaigns.List(ctx, account, recentCampaigns)
	if err != nil {
		return nil, err
	}
	rows := make([]campaignRow, len(list))
	var wg sync.WaitGroup
	errs := make([]error, len(list))
	for i, camp := range list {
		rows[i].Campaign = camp
		if c.cfg.Engine == nil || camp.StartedAt == nil {
			continue
		}
		wg.Go(func() {
			rows[i].Stats, errs[i] = c.cfg.Engine.Stats(ctx, camp, nil, nil)
			rows[i].HasStats = errs[i] == nil
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("stats of campaign %s: %w", list[i].ID, err)
		}
	}
	return rows, nil
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

// pct is part of whole as a percentage with one decimal, "–" for none.
func pct(part, whole int64) string {
	if whole <= 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(part)*100/float64(whole), 'f', 1, 64) + "%"
}
