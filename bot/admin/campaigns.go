package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// CampaignDeps is what the campaign routes need.
type CampaignDeps struct {
	Store   *campaign.Store
	Engine  *campaign.Engine
	Compile campaign.Compiler
	// Item returns a content item (to check a campaign's item).
	Item   func(ctx context.Context, account, id string) (*content.Item, error)
	Queue  func(account string) *queue.Queue
	Towns  []string // ids, for the sent-by-town breakdown
	Groups []string
	Now    func() time.Time
}

// campaignRequest is the body of POST /api/v1/campaigns (contract).
type campaignRequest struct {
	Name     string     `json:"name"`
	Audience string     `json:"audience"`
	ItemID   string     `json:"item_id"`
	Mode     string     `json:"mode"`
	SendAt   *time.Time `json:"send_at"`
	Notice   bool       `json:"notice"`
	// CorrectionOf sends only to those who received this (retired) item.
	CorrectionOf string `json:"correction_of"`
}

// scheduleRequest is the body of POST /api/v1/campaigns/{id}/schedule
// (contract).
type scheduleRequest struct {
	SendAt *time.Time `json:"send_at"`
}

// campaignView is a campaign as the API shows it (contract: id, status,
// stats{queued, sent, failed, skipped, by_channel}).
type campaignView struct {
	*campaign.Campaign
	Stats campaign.Stats `json:"stats"`
}

// RegisterCampaigns adds the campaign, delivery and dead-letter routes.
func RegisterCampaigns(s *Server, d CampaignDeps) {
	s.Handle("POST /api/v1/campaigns", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		var req campaignRequest
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		c, err := d.validate(r.Context(), Account(r), req)
		if err != nil {
			return nil, err
		}
		c.CreatedBy, c.CreatedAt = p.UserID, d.Now().UTC()
		if err := d.Store.Create(r.Context(), c); err != nil {
			return nil, err
		}
		if c.Status == campaign.StatusScheduled {
			// Starts by itself at send_at, once across replicas.
			if err := d.Engine.Enqueue(r.Context(), c); err != nil {
				return nil, err
			}
		}
		return Created{campaignView{Campaign: c, Stats: campaign.Stats{ByChannel: map[string]int64{}}}}, nil
	}, RoleOrganizer)

	s.Handle("GET /api/v1/campaigns", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		cs, err := d.Store.List(r.Context(), Account(r), 100)
		if err != nil {
			return nil, err
		}
		return cs, nil
	}, Roles()...)

	s.Handle("GET /api/v1/campaigns/{id}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		c, err := d.get(r)
		if err != nil {
			return nil, err
		}
		st, err := d.Engine.Stats(r.Context(), c, d.Towns, d.Groups)
		if err != nil {
			return nil, err
		}
		return campaignView{Campaign: c, Stats: st}, nil
	}, Roles()...)

	s.Handle("GET /api/v1/campaigns/{id}/plan", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		c, err := d.get(r)
		if err != nil {
			return nil, err
		}
		show, _ := strconv.Atoi(r.URL.Query().Get("sample"))
		if show <= 0 || show > 200 {
			show = 20
		}
		rep, err := d.Engine.Plan(r.Context(), c, show)
		if err != nil {
			return nil, err
		}
		// Who is who is for organizers (and admins); editors and viewers
		// see the same sample without openids.
		if p.Role != RoleAdmin && p.Role != RoleOrganizer {
			for i := range rep.Sample {
				rep.Sample[i].OpenID = ""
			}
		}
		return rep, nil
	}, RoleOrganizer, RoleEditor, RoleViewer)

	transition := func(verb string, fn func(c *campaign.Campaign, now time.Time) error) {
		s.Handle("POST /api/v1/campaigns/{id}/"+verb, func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
			now := d.Now()
			c, err := d.Store.Update(r.Context(), Account(r), r.PathValue("id"), func(c *campaign.Campaign) error { return fn(c, now) })
			if err != nil {
				return nil, campaignError(err)
			}
			if verb == "start" {
				if err := d.Engine.Enqueue(r.Context(), &campaign.Campaign{ID: c.ID, Account: c.Account}); err != nil {
					return nil, err
				}
			}
			return campaignView{Campaign: c, Stats: campaign.Stats{Queued: c.Planned, ByChannel: map[string]int64{}}}, nil
		}, RoleOrganizer)
	}
	transition("start", func(c *campaign.Campaign, now time.Time) error {
		if c.Status != campaign.StatusDraft && c.Status != campaign.StatusScheduled {
			return campaign.ErrBadTransition
		}
		c.Status, c.StartedAt = campaign.StatusRunning, &now
		return nil
	})
	transition("pause", func(c *campaign.Campaign, _ time.Time) error {
		if c.Status != campaign.StatusRunning {
			return campaign.ErrBadTransition
		}
		c.Status = campaign.StatusPaused
		return nil
	})
	transition("resume", func(c *campaign.Campaign, _ time.Time) error {
		if c.Status != campaign.StatusPaused {
			return campaign.ErrBadTransition
		}
		c.Status = campaign.StatusRunning
		return nil
	})
	transition("cancel", func(c *campaign.Campaign, _ time.Time) error {
		if c.Status == campaign.StatusDone || c.Status == campaign.StatusCancelled {
			return campaign.ErrBadTransition
		}
		c.Status = campaign.StatusCancelled
		return nil
	})

	// schedule sends a draft at a later time: the composer creates a draft,
	// shows its plan, then sends it now (start) or at send_at (here).
	s.Handle("POST /api/v1/campaigns/{id}/schedule", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		var req scheduleRequest
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		if req.SendAt == nil || !req.SendAt.After(d.Now()) {
			return nil, Invalid(map[string]string{"send_at": "must be in the future"}, "invalid send_at")
		}
		c, err := d.Store.Update(r.Context(), Account(r), r.PathValue("id"), func(c *campaign.Campaign) error {
			if c.Status != campaign.StatusDraft {
				return campaign.ErrBadTransition
			}
			c.Status, c.SendAt = campaign.StatusScheduled, req.SendAt
			return nil
		})
		if err != nil {
			return nil, campaignError(err)
		}
		// Starts by itself at send_at, once across replicas.
		if err := d.Engine.Enqueue(r.Context(), c); err != nil {
			return nil, err
		}
		return campaignView{Campaign: c, Stats: campaign.Stats{ByChannel: map[string]int64{}}}, nil
	}, RoleOrganizer)

	s.Handle("GET /api/v1/deadletters", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if limit <= 0 || limit > 1000 {
			limit = 100
		}
		dl, err := d.Queue(Account(r)).DeadLetters(r.Context(), limit)
		if err != nil {
			return nil, err
		}
		out := make([]map[string]any, len(dl))
		for i, x := range dl {
			out[i] = map[string]any{"id": x.ID, "job_id": x.Job.ID, "kind": x.Job.Kind, "attempt": x.Job.Attempt, "reason": x.Reason, "at": x.At}
		}
		return out, nil
	}, RoleOrganizer, RoleViewer)

	s.Handle("POST /api/v1/deadletters/{id}/retry", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		if err := d.Queue(Account(r)).RetryDead(r.Context(), r.PathValue("id")); err != nil {
			return nil, &StatusError{Status: http.StatusNotFound, Err: err}
		}
		return map[string]string{"status": "requeued"}, nil
	}, RoleOrganizer)
}

func (d CampaignDeps) get(r *http.Request) (*campaign.Campaign, error) {
	c, err := d.Store.Get(r.Context(), Account(r), r.PathValue("id"))
	return c, campaignError(err)
}

func campaignError(err error) error {
	switch {
	case errors.Is(err, campaign.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, campaign.ErrBadTransition):
		return &StatusError{Status: http.StatusConflict, Err: err}
	}
	return err
}

// validate checks a campaign request and builds the campaign.
func (d CampaignDeps) validate(ctx context.Context, account string, req campaignRequest) (*campaign.Campaign, error) {
	fields := map[string]string{}
	c := &campaign.Campaign{Account: account, Name: strings.TrimSpace(req.Name), Audience: req.Audience,
		Notice: req.Notice, Status: campaign.StatusDraft}
	if c.Name == "" || len([]rune(c.Name)) > 100 {
		fields["name"] = "required, at most 100 characters"
	}
	if _, err := d.Compile(req.Audience, d.Now()); err != nil {
		var se *segment.SyntaxError
		if errors.As(err, &se) {
			return nil, &InvalidError{Msg: "audience: " + err.Error(), Fields: map[string]string{"audience": err.Error()},
				Position: se.Pos, HasPosition: true}
		}
		fields["audience"] = err.Error()
	}
	switch {
	case req.ItemID != "" && req.Mode != "" && req.Mode != campaign.ModeItem:
		fields["mode"] = "give item_id or mode \"personalized\", not both"
	case req.ItemID != "":
		c.Mode, c.ItemID = campaign.ModeItem, req.ItemID
		it, err := d.Item(ctx, account, req.ItemID)
		switch {
		case err != nil:
			fields["item_id"] = "no such item"
		case it.Status != content.StatusPublished:
			fields["item_id"] = "the item is " + string(it.Status) + ": only published items can be sent"
		}
	case req.Mode == campaign.ModePersonalized:
		c.Mode = campaign.ModePersonalized
	default:
		fields["item_id"] = "give item_id, or mode \"personalized\""
	}
	if req.CorrectionOf != "" {
		if _, err := d.Item(ctx, account, req.CorrectionOf); err != nil {
			fields["correction_of"] = "no such item"
		}
		c.CorrectionOf = req.CorrectionOf
	}
	if req.SendAt != nil {
		if !req.SendAt.After(d.Now()) {
			fields["send_at"] = "must be in the future"
		}
		c.SendAt, c.Status = req.SendAt, campaign.StatusScheduled
	}
	if len(fields) > 0 {
		return nil, Invalid(fields, "invalid campaign")
	}
	return c, nil
}
