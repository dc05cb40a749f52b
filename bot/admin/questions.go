package admin

import (
	"net/http"

	"github.com/zengcheng-kexie/kepubot/content"
)

func registerQuestions(s *Server, d ContentDeps) {
	s.Handle("POST /api/v1/questions", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		var q content.Question
		if err := DecodeJSON(r, &q); err != nil {
			return nil, err
		}
		if err := invalidFields(q.Validate(d.Vocab)); err != nil {
			return nil, err
		}
		q, err := d.Store.CreateQuestion(r.Context(), Account(r), q)
		if err != nil {
			return nil, contentError(err)
		}
		return Created{q}, nil
	}, RoleEditor)

	s.Handle("GET /api/v1/questions/{id}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		q, err := d.Store.Question(r.Context(), Account(r), r.PathValue("id"))
		if err != nil {
			return nil, contentError(err)
		}
		return q, nil
	}, Roles()...)

	s.Handle("GET /api/v1/questions", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		f := content.QuestionFilter{Topic: r.URL.Query().Get("topic")}
		var err error
		if f.Difficulty, err = intParam(r, "difficulty", 0, content.MinDifficulty, content.MaxDifficulty); err != nil {
			return nil, err
		}
		if f.Limit, f.Offset, err = pageParams(r); err != nil {
			return nil, err
		}
		qs, total, err := d.Store.Questions(r.Context(), Account(r), f)
		if err != nil {
			return nil, err
		}
		return map[string]any{"questions": qs, "total": total, "limit": f.Limit, "offset": f.Offset}, nil
	}, Roles()...)
}
