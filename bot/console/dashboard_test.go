package console

import (
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/bot/signup"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// withSignups adds the event sign-up routes to the bundle's API and
// returns the sign-up service.
func (b *bundle) withSignups(tb testing.TB) *signup.Service {
	tb.Helper()
	q, err := queue.New(b.rdb, queue.Options{Name: "default"})
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := signup.New(signup.Config{Redis: b.rdb, Events: b.content, Profiles: b.profiles, Scenes: qrcode.NewStore(b.rdb),
		Tax: b.tax, Queue: func(string) *queue.Queue { return q }, Loc: time.UTC, Now: func() time.Time { return b.now }})
	if err != nil {
		tb.Fatal(err)
	}
	admin.RegisterSignups(b.api, admin.SignupDeps{Signups: svc, Events: b.content})
	return svc
}

var (
	dataRE     = regexp.MustCompile(`<script type="application/json" id="dashboard-data">(.*?)</script>`)
	townCellRE = regexp.MustCompile(`<td class="total">([\d,]+)</td><td class="population">([\d,]+)</td><td class="coverage">([^<]+)</td>`)
)

// chartJSON returns the dashboard's chart data block.
func chartJSON(t *testing.T, page string) chartData {
	t.Helper()
	m := dataRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("dashboard has no chart data block:\n%s", page)
	}
	var cd chartData
	if err := json.Unmarshal([]byte(m[1]), &cd); err != nil {
		t.Fatalf("chart data %q: %v", m[1], err)
	}
	return cd
}

// TestDashboardPopulationGrowthAttendance: population and coverage per
// town, follows per day, event attendance, and the charts' JSON holds the
// tables' numbers.
func TestDashboardPopulationGrowthAttendance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	svc := b.withSignups(t)
	paitan := -1
	for i, tw := range b.tax.Towns {
		if tw.ID == "paitan" {
			paitan = i
		}
	}
	b.tax.Towns[paitan].Population = 200 // so the coverage is a readable 5.0%

	now := b.now
	var ps []*profile.Profile
	for i := range 10 {
		ps = append(ps, &profile.Profile{OpenID: fmt.Sprintf("oImported%019d", i), Group: "farmer", Town: "paitan",
			Subscribed: true, CreatedAt: now, LastActiveAt: now.AddDate(0, 0, -40)})
	}
	if _, err := b.profiles.Import(b.ctx, "default", ps); err != nil {
		t.Fatal(err)
	}
	// Follows (subscribe events): 5 today, 3 two days ago, 2 long ago.
	follow := func(n int, at time.Time) {
		for range n {
			id := fmt.Sprintf("oFollow%021d", len(ps))
			ps = append(ps, nil)
			err := b.profiles.Update(b.ctx, "default", id, func(*profile.Profile) (*profile.Profile, error) {
				return &profile.Profile{OpenID: id, Group: "worker", Town: "licheng", Subscribed: true,
					OptChangedAt: at, CreatedAt: at, LastActiveAt: at}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	follow(5, now)
	follow(3, now.AddDate(0, 0, -2))
	follow(2, now.AddDate(0, 0, -45))

	// An event with 3 confirmed sign-ups, 2 of whom came.
	ev, err := b.content.CreateEvent(b.ctx, "default", content.Event{Title: "科技活动周·无人机体验", Town: "licheng",
		StartsAt: now.AddDate(0, 0, 10), EndsAt: now.AddDate(0, 0, 10).Add(2 * time.Hour), Capacity: 50})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err = b.content.PublishEvent(b.ctx, "default", ev.ID); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		id := fmt.Sprintf("oFollow%021d", 10+i)
		if _, err := svc.SignUp(b.ctx, "default", ev, id, "op"+id, "worker|licheng"); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if _, err := svc.Attend(b.ctx, "default", ev, id, "worker|licheng"); err != nil {
				t.Fatal(err)
			}
		}
	}

	page := b.browser(t).mustLogin("viewer-user")
	cd := chartJSON(t, page)

	// The chart library is vendored (building needs only Go), with its
	// licence beside it, and the dashboard loads it.
	if !chartsEmbedded() {
		t.Errorf("%s is not embedded: it is committed, so building needs only Go", chartLib)
	}
	if lic, err := fs.ReadFile(staticFS, "static/vendor/chart.js.LICENSE.md"); err != nil || !strings.Contains(string(lic), "MIT") {
		t.Errorf("Chart.js licence next to the vendored file: %v", err)
	}
	if !strings.Contains(page, `src="/console/static/vendor/chart.umd.min.js"`) {
		t.Errorf("the dashboard does not load the chart library")
	}

	// Population and coverage, in the table and the chart data alike.
	cells := townCellRE.FindAllStringSubmatch(page, -1)
	if len(cells) != len(b.tax.Towns) || len(cd.Towns) != len(b.tax.Towns) {
		t.Fatalf("town rows: %d in the table, %d in the chart data; want %d", len(cells), len(cd.Towns), len(b.tax.Towns))
	}
	for i, tw := range b.tax.Towns {
		total, pop, cov := cells[i][1], cells[i][2], cells[i][3]
		if cd.Towns[i] != tw.Name || formatNum(cd.Reachable[i]) != total || formatNum(cd.Population[i]) != pop ||
			pct(cd.Reachable[i], cd.Population[i]) != cov || cd.Coverage[i] != percent(cd.Reachable[i], cd.Population[i]) {
			t.Errorf("town %s: table %s/%s/%s, chart %s %d/%d/%v", tw.ID, total, pop, cov, cd.Towns[i], cd.Reachable[i], cd.Population[i], cd.Coverage[i])
		}
		if cd.Population[i] != tw.Population || tw.Population <= 0 {
			t.Errorf("town %s population in the chart = %d, want %d (> 0)", tw.ID, cd.Population[i], tw.Population)
		}
	}
	if cd.Reachable[paitan] != 10 || cells[paitan][3] != "5.0%" || cd.Coverage[paitan] != 5.0 {
		t.Errorf("派潭 = %d reachable, coverage %s / %v; want 10, 5.0%%", cd.Reachable[paitan], cells[paitan][3], cd.Coverage[paitan])
	}
	for _, want := range []string{"常住人口", "覆盖率", "以区统计局公布数据为准"} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}

	// Growth: the follows made, on their days; the one long ago is out.
	if len(cd.Days) != activeWindow || len(cd.Follows) != activeWindow {
		t.Fatalf("growth: %d days, %d counts; want %d", len(cd.Days), len(cd.Follows), activeWindow)
	}
	var sum int64
	for _, n := range cd.Follows {
		sum += n
	}
	last := activeWindow - 1
	if sum != 8 || cd.Follows[last] != 5 || cd.Follows[last-2] != 3 || cd.Days[last] != now.Format("01-02") {
		t.Errorf("follows = %v over %v (sum %d), want 5 today (%s), 3 two days ago, 8 in all", cd.Follows, cd.Days, sum, now.Format("01-02"))
	}
	if cd.Daily[last] != 5 || cd.Daily[last-2] != 3 {
		t.Errorf("daily active = %v, want 5 today and 3 two days ago", cd.Daily)
	}
	if !strings.Contains(page, `<span class="big">8</span>近 30 天新关注`) ||
		!strings.Contains(page, "<tr><th>"+now.Format("2006-01-02")+"</th><td>5</td><td>5</td></tr>") {
		t.Errorf("dashboard does not show 8 follows, 5 today")
	}

	// Attendance.
	if len(cd.Events) != 1 || cd.Events[0] != ev.Title || cd.Confirmed[0] != 3 || cd.Attended[0] != 2 {
		t.Errorf("chart events = %v confirmed %v attended %v, want %s 3/2", cd.Events, cd.Confirmed, cd.Attended, ev.Title)
	}
	if !strings.Contains(page, html.EscapeString(ev.Title)+"</th>") || !strings.Contains(page, "<td>3</td><td>0</td><td>2</td><td>66.7%</td>") {
		t.Errorf("dashboard lacks the event's row with 3 confirmed, 2 attended")
	}
}
