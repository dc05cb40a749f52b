package admin

import (
	"cmp"
	"errors"
	"net/http"
	"strings"

	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/calendar"
)

// bookingRequest is the body of POST /api/v1/bookings (contract).
type bookingRequest struct {
	Date       string `json:"date"`
	Audience   string `json:"audience"`
	Department string `json:"department"`
}

// RegisterCalendar adds the shared mass-send calendar (contracts: GET
// /api/v1/massbudget?month=YYYY-MM, POST /api/v1/bookings).
func RegisterCalendar(s *Server, svc *calendar.Service) {
	s.Handle("GET /api/v1/massbudget", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		month := r.URL.Query().Get("month")
		if month == "" {
			month = s.clock().Format("2006-01")
		}
		b, err := svc.Budget(r.Context(), Account(r), month)
		return b, calendarError(err)
	}, Roles()...)

	s.Handle("POST /api/v1/bookings", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		var req bookingRequest
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		res, err := svc.Book(r.Context(), Account(r), calendar.Booking{Date: req.Date, Audience: req.Audience,
			Department: cmp.Or(strings.TrimSpace(req.Department), p.Department), CreatedBy: p.UserID})
		if err != nil {
			return nil, calendarError(err)
		}
		return Created{res}, nil
	}, RoleOrganizer)
}

// calendarError maps the calendar's errors: a booking over the budget is
// 409 with its Chinese explanation.
func calendarError(err error) error {
	var ve *content.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return Invalid(ve.Fields, "invalid booking")
	case errors.Is(err, calendar.ErrOverBudget):
		return &StatusError{Status: http.StatusConflict, Err: errors.New(err.Error())}
	case calendar.ErrBusy(err):
		return &StatusError{Status: http.StatusConflict, Err: errors.New("另一个预约正在核算，请稍后再试")}
	}
	return err
}
