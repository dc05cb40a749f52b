package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/scheduler/jobs"
)

// JobDeps is what the scheduler routes need.
type JobDeps struct {
	Scheduler  *jobs.Scheduler
	Programmes *jobs.Programmes
	// TagSync, when set, adds the routes that choose the segments synced
	// to WeChat tags.
	TagSync *jobs.TagSync
	// CheckAudience validates a programme's audience expression (a
	// *segment.SyntaxError answers 400 with its position).
	CheckAudience func(expr string) error
	// CheckItem, when set, checks a programme's item exists.
	CheckItem func(ctx context.Context, account, id string) error
	Now       func() time.Time
}

// programmeRequest is the body of POST /api/v1/programmes.
type programmeRequest struct {
	Name     string `json:"name"`
	Spec     string `json:"spec"`
	Audience string `json:"audience"`
	Mode     string `json:"mode"`
	ItemID   string `json:"item_id"`
}

// RegisterJobs adds the scheduler routes: job status (contract: GET
// /api/v1/jobs → [{name, spec, next_run, last_run, last_outcome, paused}]),
// run now, pause and resume; recurring programmes; and tag sync.
func RegisterJobs(s *Server, d JobDeps) {
	s.Handle("GET /api/v1/jobs", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		return d.Scheduler.StatusesOf(r.Context(), Account(r))
	}, Roles()...)

	s.Handle("POST /api/v1/jobs/{name}/run", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		name, err := d.Scheduler.Lookup(r.Context(), Account(r), r.PathValue("name"))
		if err != nil {
			return nil, jobError(err)
		}
		tick, err := d.Scheduler.RunNow(r.Context(), name)
		if err != nil {
			return nil, jobError(err)
		}
		return map[string]any{"name": tick.Job, "tick": tick.ID, "at": tick.At, "status": "queued"}, nil
	}, RoleOrganizer)

	for verb, fn := range map[string]func(context.Context, string) error{"pause": d.Scheduler.Pause, "resume": d.Scheduler.Resume} {
		s.Handle("POST /api/v1/jobs/{name}/"+verb, func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
			name, err := d.Scheduler.Lookup(r.Context(), Account(r), r.PathValue("name"))
			if err != nil {
				return nil, jobError(err)
			}
			if err := fn(r.Context(), name); err != nil {
				return nil, jobError(err)
			}
			st, err := d.Scheduler.Status(r.Context(), name)
			return st, jobError(err)
		}, RoleOrganizer)
	}

	if d.Programmes != nil {
		registerProgrammes(s, d)
	}
	if d.TagSync != nil {
		registerTagSync(s, d)
	}
}

func registerProgrammes(s *Server, d JobDeps) {
	s.Handle("POST /api/v1/programmes", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		var req programmeRequest
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		if d.CheckAudience != nil {
			if err := d.CheckAudience(req.Audience); err != nil {
				var se *segment.SyntaxError
				if errors.As(err, &se) {
					return nil, &InvalidError{Msg: se.Error(), Fields: map[string]string{"audience": se.Error()}, Position: se.Pos, HasPosition: true}
				}
				return nil, Invalid(map[string]string{"audience": err.Error()}, "invalid audience: %v", err)
			}
		}
		if req.ItemID != "" && d.CheckItem != nil {
			if err := d.CheckItem(r.Context(), account, req.ItemID); err != nil {
				return nil, Invalid(map[string]string{"item_id": "no such item"}, "item %q: %v", req.ItemID, err)
			}
		}
		now := time.Now
		if d.Now != nil {
			now = d.Now
		}
		prog, err := d.Programmes.Save(r.Context(), jobs.Programme{Account: account, Name: req.Name, Spec: req.Spec,
			Audience: req.Audience, Mode: req.Mode, ItemID: req.ItemID, CreatedBy: p.UserID, CreatedAt: now().UTC()})
		if err != nil {
			return nil, jobError(err)
		}
		return Created{Body: prog}, nil
	}, RoleOrganizer)

	s.Handle("GET /api/v1/programmes", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		return d.Programmes.List(r.Context(), account)
	}, Roles()...)

	s.Handle("GET /api/v1/programmes/{name}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		prog, err := d.Programmes.Get(r.Context(), account, r.PathValue("name"))
		return prog, jobError(err)
	}, Roles()...)

	s.Handle("DELETE /api/v1/programmes/{name}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		return nil, jobError(d.Programmes.Delete(r.Context(), account, r.PathValue("name")))
	}, RoleOrganizer)
}

func registerTagSync(s *Server, d JobDeps) {
	s.Handle("GET /api/v1/tagsync", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		return d.TagSync.Marked(r.Context(), account)
	}, Roles()...)

	s.Handle("PUT /api/v1/tagsync/{segment}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		if err := d.TagSync.Mark(r.Context(), account, r.PathValue("segment")); err != nil {
			return nil, jobError(err)
		}
		return map[string]any{"segment": r.PathValue("segment"), "synced": true}, nil
	}, RoleOrganizer)

	s.Handle("DELETE /api/v1/tagsync/{segment}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		return nil, jobError(d.TagSync.Unmark(r.Context(), account, r.PathValue("segment")))
	}, RoleOrganizer)
}

// jobError maps the scheduler's errors to the API's.
func jobError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jobs.ErrUnknownJob), errors.Is(err, jobs.ErrProgrammeNotFound), errors.Is(err, segment.ErrNotFound):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	case errors.Is(err, jobs.ErrProgrammeExists):
		return fmt.Errorf("%w: a programme with this name already exists", ErrConflict)
	case errors.Is(err, jobs.ErrInvalidProgramme), errors.Is(err, jobs.ErrTagName):
		return Invalid(nil, "%v", err)
	}
	return err
}
