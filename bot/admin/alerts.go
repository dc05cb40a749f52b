package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/zengcheng-kexie/kepubot/scheduler/alerts"
)

// RegisterAlerts adds the hazard-alert routes (contracts: GET
// /api/v1/alerts, POST /api/v1/alerts/{id}/approve), and the account's
// hold setting (GET/PUT /api/v1/alerts/settings).
func RegisterAlerts(s *Server, svc *alerts.Service) {
	s.Handle("GET /api/v1/alerts", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		list, err := svc.List(r.Context(), Account(r), 100)
		if err != nil {
			return nil, err
		}
		if list == nil {
			list = []*alerts.Record{}
		}
		return list, nil
	}, Roles()...)

	s.Handle("POST /api/v1/alerts/{id}/approve", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		rec, err := svc.Approve(r.Context(), Account(r), r.PathValue("id"), p.UserID)
		switch {
		case errors.Is(err, alerts.ErrNotFound):
			return nil, fmt.Errorf("%w: 没有这条预警", ErrNotFound)
		case errors.Is(err, alerts.ErrNotHeld):
			return nil, &StatusError{Status: http.StatusConflict, Err: errors.New("这条预警不在等待审批：已经发出，或不需要发送")}
		case err != nil:
			return nil, err
		}
		return rec, nil
	}, RoleOrganizer)

	s.Handle("GET /api/v1/alerts/settings", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		held, err := svc.Held(r.Context(), Account(r))
		if err != nil {
			return nil, err
		}
		return alertSettings{Hold: &held}, nil
	}, Roles()...)

	s.Handle("PUT /api/v1/alerts/settings", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		var req alertSettings
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		if req.Hold == nil {
			return nil, Invalid(map[string]string{"hold": "请说明是否暂停自动发送（true 或 false）"}, "hold is required")
		}
		if err := svc.SetHold(r.Context(), Account(r), *req.Hold); err != nil {
			return nil, err
		}
		return req, nil
	}, RoleOrganizer)
}

// alertSettings is the body of GET/PUT /api/v1/alerts/settings: hold
// automatic sending, so an organizer approves each alert.
type alertSettings struct {
	Hold *bool `json:"hold"`
}
