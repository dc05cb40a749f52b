package console

import (
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// budgetView is GET /api/v1/massbudget's answer, as the page shows it.
type budgetView struct {
	Account      string `json:"-"`
	Month        string `json:"month"`
	Limit        int    `json:"limit"`
	AlertReserve int    `json:"alert_reserve"`
	Bookings     []struct {
		Date       string `json:"date"`
		Audience   string `json:"audience"`
		Department string `json:"department"`
		Reach      int64  `json:"reach"`
	} `json:"bookings"`
	Groups []remainingRow `json:"groups"`
	Towns  []remainingRow `json:"towns"`
}

type remainingRow struct {
	Name        string `json:"name"`
	Subscribers int64  `json:"subscribers"`
	MinLeft     int    `json:"min_left"`
	Exhausted   int64  `json:"exhausted"`
}

var monthRE = regexp.MustCompile(`^\d{4}-\d{2}$`)

func (c *Console) calendarRoutes() {
	c.handle("GET /console/calendar", c.calendarPage, admin.Roles()...)
}

// calendarPage serves GET /console/calendar?month=YYYY-MM: the month's
// booked mass sends and the budget left by group and town, through GET
// /api/v1/massbudget. Bookings are made through POST /api/v1/bookings.
func (c *Console) calendarPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	month := r.URL.Query().Get("month")
	if !monthRE.MatchString(month) {
		month = c.cfg.Now().Format("2006-01")
	}
	var v budgetView
	if err := c.call(r.Context(), s, http.MethodGet, acctPath("/api/v1/massbudget", account, url.Values{"month": {month}}), nil, &v); err != nil {
		return apiFail(err)
	}
	v.Account = account
	c.render(w, http.StatusOK, "calendar.html", view{Title: "群发日历", Session: s, Data: v})
	return nil
}

// nextMonth is the month after m (YYYY-MM), for the page's links.
func nextMonth(m string, by int) string {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return m
	}
	return t.AddDate(0, by, 0).Format("2006-01")
}
