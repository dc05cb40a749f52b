package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/zengcheng-kexie/kepubot/content"
)

// ContentDeps is what the content routes (items, questions, competitions,
// events) need.
type ContentDeps struct {
	Store *content.Store
	// Vocab validates group, town and topic ids (the taxonomy).
	Vocab content.Vocabulary
	// CheckAudience validates the segment expression of a competition or
	// event; nil accepts any.
	CheckAudience func(expr string) error
	// Signups adds sign-up counts to events and schedules reminders when
	// one is published; nil leaves them out.
	Signups EventSignups
}

// RegisterContent adds the routes of the content library. Editors write
// items and questions and submit items; reviewers approve or reject;
// organizers publish, retire, and run competitions and events; everyone
// with a token reads.
func RegisterContent(s *Server, d ContentDeps) {
	registerItems(s, d)
	registerQuestions(s, d)
	registerCompetitions(s, d)
	registerEvents(s, d)
}

// contentError maps the content package's errors to statuses.
func contentError(err error) error {
	var ve *content.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return Invalid(ve.Fields, "invalid fields")
	case errors.Is(err, content.ErrNotFound):
		return &StatusError{Status: http.StatusNotFound, Err: err}
	case errors.Is(err, content.ErrSelfApproval):
		return &StatusError{Status: http.StatusForbidden, Err: err}
	case errors.Is(err, content.ErrReasonRequired):
		return Invalid(map[string]string{"reason": "required"}, "%v", err)
	case errors.Is(err, content.ErrBadTransition), errors.Is(err, content.ErrDuplicate),
		errors.Is(err, content.ErrCodeTaken), errors.Is(err, content.ErrConflict):
		return &StatusError{Status: http.StatusConflict, Err: err}
	}
	return err
}

// invalidFields turns a Validate result into a 400, or nil.
func invalidFields(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return Invalid(fields, "invalid fields")
}

// itemView is an item as the API shows it: the current version with the
// number of versions and the review history.
type itemView struct {
	content.Item
	Versions int                  `json:"versions"`
	History  []content.Transition `json:"history"`
}

// itemInput is an item as the API takes it. A client may send back what
// it read (versions and history are ignored; ids, status and times are
// the store's).
type itemInput struct {
	content.Item
	Versions json.RawMessage `json:"versions,omitempty"`
	History  json.RawMessage `json:"history,omitempty"`
}

// Page sizes of lists.
const (
	defaultPage = 50
	maxPage     = 500
)

func pageParams(r *http.Request) (limit, offset int, err error) {
	if limit, err = intParam(r, "limit", defaultPage, 1, maxPage); err != nil {
		return 0, 0, err
	}
	if offset, err = intParam(r, "offset", 0, 0, 1<<30); err != nil {
		return 0, 0, err
	}
	return limit, offset, nil
}

func validStatus(s content.Status) bool {
	switch s {
	case "", content.StatusDraft, content.StatusInReview, content.StatusApproved, content.StatusPublished, content.StatusRetired:
		return true
	}
	return false
}

// reviewRoles says who may take each review action (admins always may).
var reviewRoles = map[content.Action][]Role{
	content.ActionSubmit:  {RoleEditor},
	content.ActionApprove: {RoleReviewer},
	content.ActionReject:  {RoleReviewer},
	content.ActionPublish: {RoleOrganizer},
	content.ActionRetire:  {RoleOrganizer},
}

func registerItems(s *Server, d ContentDeps) {
	registerItemAudio(s, d)
	view := func(r *http.Request, it content.Item) (any, error) {
		hist, err := d.Store.History(r.Context(), Account(r), it.ID)
		if err != nil {
			return nil, err
		}
		return itemView{Item: it, Versions: it.Version, History: hist}, nil
	}
	decode := func(r *http.Request) (content.Item, error) {
		var in itemInput
		if err := DecodeJSON(r, &in); err != nil {
			return content.Item{}, err
		}
		return in.Item, invalidFields(in.Item.Validate(d.Vocab))
	}

	s.Handle("POST /api/v1/items", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		it, err := decode(r)
		if err != nil {
			return nil, err
		}
		it, err = d.Store.CreateItem(r.Context(), Account(r), it, p.UserID)
		if err != nil {
			return nil, contentError(err)
		}
		v, err := view(r, it)
		return Created{v}, err
	}, RoleEditor)

	s.Handle("PUT /api/v1/items/{id}", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		it, err := decode(r)
		if err != nil {
			return nil, err
		}
		it, _, err = d.Store.UpdateItem(r.Context(), Account(r), r.PathValue("id"), it, p.UserID)
		if err != nil {
			return nil, contentError(err)
		}
		return view(r, it)
	}, RoleEditor)

	for action, roles := range reviewRoles {
		s.Handle("POST /api/v1/items/{id}/"+string(action), func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
			var req struct {
				Reason string `json:"reason"`
			}
			if err := decodeOptional(r, &req); err != nil {
				return nil, err
			}
			it, err := d.Store.Transition(r.Context(), Account(r), r.PathValue("id"), action, p.UserID, req.Reason)
			if err != nil {
				return nil, contentError(err)
			}
			return view(r, it)
		}, roles...)
	}

	s.Handle("GET /api/v1/items/{id}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		it, err := d.Store.Item(r.Context(), Account(r), r.PathValue("id"))
		if err != nil {
			return nil, contentError(err)
		}
		v, err := view(r, it)
		if err != nil || r.URL.Query().Get("version") == "" {
			return v, err
		}
		// ?version=n shows that version's content with the item's history.
		n, err := intParam(r, "version", 0, 1, it.Version)
		if err != nil {
			return nil, err
		}
		old, err := d.Store.ItemVersion(r.Context(), Account(r), it.ID, n)
		if err != nil {
			return nil, contentError(err)
		}
		iv := v.(itemView)
		old.Status = it.Status
		iv.Item = old
		return iv, nil
	}, Roles()...)

	s.Handle("GET /api/v1/items", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		q := r.URL.Query()
		f := content.ItemFilter{Status: content.Status(q.Get("status")), Group: q.Get("group"), Town: q.Get("town"), Topic: q.Get("topic")}
		if !validStatus(f.Status) {
			return nil, Invalid(map[string]string{"status": "one of draft, in_review, approved, published, retired"}, "invalid status")
		}
		var err error
		if f.Limit, f.Offset, err = pageParams(r); err != nil {
			return nil, err
		}
		items, total, err := d.Store.Items(r.Context(), Account(r), f)
		if err != nil {
			return nil, err
		}
		return map[string]any{"items": items, "total": total, "limit": f.Limit, "offset": f.Offset}, nil
	}, Roles()...)
}

// decodeOptional is DecodeJSON for a body that may be empty.
func decodeOptional(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return Invalid(nil, "read body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return DecodeJSON(r, v)
}

// statusParam reads ?status= for competitions and events (draft or published).
func statusParam(r *http.Request) (content.Status, error) {
	st := content.Status(r.URL.Query().Get("status"))
	if st != "" && st != content.StatusDraft && st != content.StatusPublished {
		return "", Invalid(map[string]string{"status": "draft or published"}, "invalid status")
	}
	return st, nil
}
