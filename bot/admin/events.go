package admin

import (
	"net/http"

	"github.com/zengcheng-kexie/kepubot/content"
)

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
		return e, nil
	}, RoleOrganizer)

	s.Handle("GET /api/v1/events/{id}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		e, err := d.Store.Event(r.Context(), Account(r), r.PathValue("id"))
		if err != nil {
			return nil, contentError(err)
		}
		return e, nil
	}, Roles()...)

	s.Handle("GET /api/v1/events", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		st, err := statusParam(r)
		if err != nil {
			return nil, err
		}
		limit, offset, err := pageParams(r)
		if err != nil {
			return nil, err
		}
		es, total, err := d.Store.Events(r.Context(), Account(r), st, offset, limit)
		if err != nil {
			return nil, err
		}
		return map[string]any{"events": es, "total": total, "limit": limit, "offset": offset}, nil
	}, Roles()...)
}
