package admin

import (
	"context"
	"net/http"

	"github.com/zengcheng-kexie/kepubot/bot/signup"
	"github.com/zengcheng-kexie/kepubot/content"
)

// EventSignups is the sign-up side of events (*signup.Service).
type EventSignups interface {
	Summary(ctx context.Context, account, id string) (signup.Summary, error)
	ScheduleReminders(ctx context.Context, account string, ev content.Event) error
}

// eventView is an event with its sign-up counts (contract: id, code,
// capacity, confirmed, waitlisted, attended).
type eventView struct {
	content.Event
	Confirmed  int64 `json:"confirmed"`
	Waitlisted int64 `json:"waitlisted"`
	Attended   int64 `json:"attended"`
}

func registerEvents(s *Server, d ContentDeps) {
	s.Handle("POST /api/v1/events", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		var e content.Event
		if err := DecodeJSON(r, &e); err != nil {
			return nil, err
		}
		fields := e.Validate(d.Vocab)
		d.checkAudience(fields, e.Audience)
		if err := invalidFields(fields); err != nil {
			return nil, err
		}
		e, err := d.Store.CreateEvent(r.Context(), Account(r), e)
		if err != nil {
			return nil, contentError(err)
		}
		return Created{e}, nil
	}, RoleOrganizer)

	s.Handle("POST /api/v1/events/{id}/publish", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		e, err := d.Store.PublishEvent(r.Context(), Account(r), r.PathValue("id"))
		if err != nil {
			return nil, contentError(err)
		}
		if d.Signups != nil {
			// Reminders at the event's offsets (idempotent: sign-ups
			// schedule them too).
			if err := d.Signups.ScheduleReminders(r.Context(), Account(r), e); err != nil {
				return nil, err
			}
		}
		return e, nil
	}, RoleOrganizer)

	s.Handle("GET /api/v1/events/{id}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		e, err := d.Store.Event(r.Context(), Account(r), r.PathValue("id"))
		if err != nil {
			return nil, contentError(err)
		}
		view := eventView{Event: e}
		if d.Signups != nil {
			sum, err := d.Signups.Summary(r.Context(), Account(r), e.ID)
			if err != nil {
				return nil, err
			}
			view.Confirmed, view.Waitlisted, view.Attended = sum.Confirmed, sum.Waitlisted, sum.Attended
		}
		return view, nil
	}, Roles()...)

	s.Handle("GET /api/v1/events", listByStatus("events", d.Store.Events), Roles()...)
}
