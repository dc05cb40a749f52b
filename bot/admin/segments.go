package admin

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// SegmentDeps is what the segment routes need.
type SegmentDeps struct {
	// Profiles counts audiences (*profile.Store).
	Profiles segment.Counter
	Tax      *taxonomy.Taxonomy
	Segments *segment.Store
	Now      func() time.Time
	// Loc is the district's time zone: active:Nd counts its calendar days.
	Loc *time.Location
}

// previewRequest is the body of POST /api/v1/segments/preview (contract).
type previewRequest struct {
	Expr  string `json:"expr"`
	Cross bool   `json:"cross"` // add by_town_group
}

// previewResponse answers a preview (contract: count, by_town, by_group,
// by_town_group with cross); expr is the canonical form of the request's.
type previewResponse struct {
	Expr string `json:"expr"`
	segment.Breakdown
}

// saveRequest is the body of POST /api/v1/segments (contract).
type saveRequest struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// RegisterSegments adds the audience routes: previewing an expression
// (every role: it shows counts, never people) and the saved segments
// (organizers and admins change them).
func RegisterSegments(s *Server, d SegmentDeps) {
	s.HandleQuery("POST /api/v1/segments/preview", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		var req previewRequest
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		e, err := segment.Parse(req.Expr, d.Tax)
		if err != nil {
			return nil, segmentError(err)
		}
		b, err := segment.Preview(r.Context(), d.Profiles, account, e.Compile(d.Now(), d.Loc), d.Tax, req.Cross)
		if err != nil {
			return nil, err
		}
		return previewResponse{Expr: e.String(), Breakdown: b}, nil
	}, Roles()...)

	s.Handle("POST /api/v1/segments", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		var req saveRequest
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		saved, err := d.Segments.Save(r.Context(), account, segment.Saved{
			Name: req.Name, Expr: req.Expr, CreatedBy: p.UserID, CreatedAt: d.Now().UTC(),
		})
		if err != nil {
			return nil, segmentError(err)
		}
		return Created{Body: saved}, nil
	}, RoleOrganizer)

	s.Handle("GET /api/v1/segments", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		list, err := d.Segments.List(r.Context(), account)
		if err != nil {
			return nil, err
		}
		return map[string]any{"segments": list}, nil
	}, Roles()...)

	s.Handle("GET /api/v1/segments/{name}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		saved, err := d.Segments.Get(r.Context(), account, r.PathValue("name"))
		if err != nil {
			return nil, segmentError(err)
		}
		return saved, nil
	}, Roles()...)

	s.Handle("DELETE /api/v1/segments/{name}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		if err := d.Segments.Delete(r.Context(), account, r.PathValue("name")); err != nil {
			return nil, segmentError(err)
		}
		return nil, nil
	}, RoleOrganizer)
}

func validAccount(r *http.Request) (string, error) {
	a := Account(r)
	if !profile.ValidAccount(a) {
		return "", Invalid(map[string]string{"account": "unknown account"}, "invalid account %q", a)
	}
	return a, nil
}

// segmentError maps the segment package's errors to the API's: a bad
// expression is a 400 whose body carries the position ("position").
func segmentError(err error) error {
	var se *segment.SyntaxError
	switch {
	case errors.As(err, &se):
		return &InvalidError{Msg: se.Error(), Fields: map[string]string{"expr": se.Error()}, Position: se.Pos, HasPosition: true}
	case errors.Is(err, segment.ErrInvalidName):
		return Invalid(map[string]string{"name": "use 1-40 of a-z, 0-9, _ and -"}, "invalid segment name")
	case errors.Is(err, segment.ErrExists):
		return fmt.Errorf("%w: a segment with this name already exists", ErrConflict)
	case errors.Is(err, segment.ErrNotFound):
		return fmt.Errorf("%w: no segment with this name", ErrNotFound)
	}
	return err
}
