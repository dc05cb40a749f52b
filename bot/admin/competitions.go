package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/zengcheng-kexie/kepubot/content"
)

// checkCompetition validates c beyond its own fields: its audience
// expression and that its questions exist.
func (d ContentDeps) checkCompetition(ctx context.Context, account string, c *content.Competition) error {
	fields := c.Validate(d.Vocab)
	d.checkAudience(fields, c.Audience)
	if len(c.QuestionIDs) > 0 {
		missing, err := d.Store.MissingQuestions(ctx, account, c.QuestionIDs)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			fields["question_ids"] = "unknown questions: " + strings.Join(missing, ", ")
		}
	}
	return invalidFields(fields)
}

func (d ContentDeps) checkAudience(fields map[string]string, expr string) {
	if d.CheckAudience == nil || expr == "" {
		return
	}
	if err := d.CheckAudience(expr); err != nil {
		if _, ok := fields["audience"]; !ok {
			fields["audience"] = err.Error()
		}
	}
}

func registerCompetitions(s *Server, d ContentDeps) {
	s.Handle("POST /api/v1/competitions", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		var c content.Competition
		if err := DecodeJSON(r, &c); err != nil {
			return nil, err
		}
		if err := d.checkCompetition(r.Context(), Account(r), &c); err != nil {
			return nil, err
		}
		c, err := d.Store.CreateCompetition(r.Context(), Account(r), c)
		if err != nil {
			return nil, contentError(err)
		}
		return Created{c}, nil
	}, RoleOrganizer)

	s.Handle("POST /api/v1/competitions/{id}/publish", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		c, err := d.Store.PublishCompetition(r.Context(), Account(r), r.PathValue("id"))
		if err != nil {
			return nil, contentError(err)
		}
		return c, nil
	}, RoleOrganizer)

	s.Handle("GET /api/v1/competitions/{id}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		c, err := d.Store.Competition(r.Context(), Account(r), r.PathValue("id"))
		if err != nil {
			return nil, contentError(err)
		}
		return c, nil
	}, Roles()...)

	s.Handle("GET /api/v1/competitions", listByStatus("competitions", d.Store.Competitions), Roles()...)
}

// listByStatus serves a paged list filtered by ?status= (competitions,
// events): {<name>: [...], total, limit, offset}.
func listByStatus[T any](name string, list func(ctx context.Context, account string, st content.Status, offset, limit int) ([]T, int, error)) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		st, err := statusParam(r)
		if err != nil {
			return nil, err
		}
		limit, offset, err := pageParams(r)
		if err != nil {
			return nil, err
		}
		xs, total, err := list(r.Context(), Account(r), st, offset, limit)
		if err != nil {
			return nil, err
		}
		return map[string]any{name: xs, "total": total, "limit": limit, "offset": offset}, nil
	}
}
