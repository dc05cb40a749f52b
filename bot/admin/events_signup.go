package admin

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/signup"
	"github.com/zengcheng-kexie/kepubot/content"
)

// SignupDeps is what the event sign-up routes need.
type SignupDeps struct {
	Signups *signup.Service
	Events  *content.Store
	// WeChat returns the API client of an account (see QRCodeDeps).
	WeChat func(account string) (QRCreator, error)
}

// RegisterSignups adds the routes of events in the chat, next to the
// content API's /api/v1/events:
//
//	GET  /api/v1/events/{id}/signups    {id, code, capacity, confirmed, waitlisted, attended}
//	GET  /api/v1/events/{id}/qrcode     {scene, ticket, url}: the check-in code, created on first call
//	GET  /api/v1/events/{id}/stats      statistics; ?format=csv for a CSV file
//	POST /api/v1/events/{id}/notice     {url, send_at}: a notice campaign to the event's audience
//	POST /api/v1/events/{id}/reminders  schedule the reminders (after publishing or moving it)
//	POST /api/v1/events/{id}/clone      {year}: the event copied to a new year
func RegisterSignups(s *Server, d SignupDeps) {
	s.Handle("GET /api/v1/events/{id}/signups", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		sum, err := d.Signups.Summary(r.Context(), Account(r), r.PathValue("id"))
		return sum, signupError(err)
	}, Roles()...)

	s.Handle("GET /api/v1/events/{id}/qrcode", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		ev, err := d.event(r)
		if err != nil {
			return nil, err
		}
		sc, err := d.Signups.CheckInScene(r.Context(), Account(r), ev)
		if err != nil {
			return nil, err
		}
		if sc.Ticket == "" {
			client, err := d.WeChat(Account(r))
			if err != nil {
				return nil, err
			}
			var expire time.Duration
			if sc.Temporary {
				expire = time.Until(sc.ExpiresAt).Truncate(time.Second)
			}
			qr, err := client.CreateQRCode(r.Context(), sc.Scene, sc.Temporary, expire)
			if err != nil {
				return nil, &StatusError{Status: http.StatusBadGateway, Err: fmt.Errorf("wechat: create qr code: %w", err)}
			}
			sc.Ticket, sc.URL = qr.Ticket, qr.URL
			if err := d.Signups.SaveScene(r.Context(), Account(r), sc); err != nil {
				return nil, err
			}
		}
		return map[string]any{"scene": sc.Scene, "ticket": sc.Ticket, "url": sc.URL,
			"temporary": sc.Temporary, "expires_at": sc.ExpiresAt}, nil
	}, RoleOrganizer, RoleViewer)

	s.Handle("GET /api/v1/events/{id}/stats", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		st, err := d.Signups.Stats(r.Context(), Account(r), r.PathValue("id"))
		if err != nil {
			return nil, signupError(err)
		}
		if r.URL.Query().Get("format") != "csv" {
			return st, nil
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="event-`+st.Event+`.csv"`)
		// Written here: Handle adds nothing to an answer a handler wrote.
		return nil, st.WriteCSV(w)
	}, RoleOrganizer, RoleViewer)

	s.Handle("POST /api/v1/events/{id}/notice", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		var req struct {
			URL    string     `json:"url"`
			SendAt *time.Time `json:"send_at"`
		}
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		if req.URL == "" {
			return nil, Invalid(map[string]string{"url": "required: the page the notice links to"}, "invalid notice")
		}
		ev, err := d.event(r)
		if err != nil {
			return nil, err
		}
		c, err := d.Signups.CreateNotice(r.Context(), Account(r), ev, req.URL, p.UserID, req.SendAt)
		if err != nil {
			return nil, signupError(err)
		}
		return Created{c}, nil
	}, RoleOrganizer)

	s.Handle("POST /api/v1/events/{id}/reminders", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		ev, err := d.event(r)
		if err != nil {
			return nil, err
		}
		if err := d.Signups.ScheduleReminders(r.Context(), Account(r), ev); err != nil {
			return nil, err
		}
		return map[string]any{"id": ev.ID, "reminders": ev.Reminders}, nil
	}, RoleOrganizer)

	s.Handle("POST /api/v1/events/{id}/clone", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		var req struct {
			Year int `json:"year"`
		}
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		if req.Year < 2000 || req.Year > 2100 {
			return nil, Invalid(map[string]string{"year": "2000-2100"}, "invalid year")
		}
		ev, err := d.Signups.Clone(r.Context(), Account(r), r.PathValue("id"), req.Year)
		if err != nil {
			return nil, signupError(err)
		}
		return Created{ev}, nil
	}, RoleOrganizer)
}

func (d SignupDeps) event(r *http.Request) (content.Event, error) {
	ev, err := d.Events.Event(r.Context(), Account(r), r.PathValue("id"))
	return ev, contentError(err)
}

func signupError(err error) error {
	switch {
	case errors.Is(err, signup.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, signup.ErrClosed):
		return &StatusError{Status: http.StatusConflict, Err: errors.New("the event is not published")}
	}
	return contentError(err)
}
