package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// bookingChoice is a mass-send booking the composer offers: the month's
// and next month's, from today on (GET /api/v1/massbudget).
type bookingChoice struct {
	ID         string `json:"id"`
	Date       string `json:"date"`
	Audience   string `json:"audience"`
	Department string `json:"department"`
	Reach      int64  `json:"reach"`
}

// bookingChoices lists the bookings a campaign composed today may name.
func (c *Console) bookingChoices(ctx context.Context, s *Session, account string) ([]bookingChoice, error) {
	now := c.cfg.Now()
	today := now.Format("2006-01-02")
	var out []bookingChoice
	for _, m := range []string{now.Format("2006-01"), nextMonth(now.Format("2006-01"), 1)} {
		var b struct {
			Bookings []bookingChoice `json:"bookings"`
		}
		err := c.call(ctx, s, http.MethodGet, acctPath("/api/v1/massbudget", account, url.Values{"month": {m}}), nil, &b)
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return nil, nil // no calendar served: nothing to book against
		}
		if err != nil {
			return nil, err
		}
		for _, x := range b.Bookings {
			if x.Date >= today {
				out = append(out, x)
			}
		}
	}
	return out, nil
}
