package admin

import (
	"cmp"
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
	// Department the campaign is for; default: the booking's when it
	// names one, else the creating user's.
	Department string `json:"department,omitempty"`
	// Booking is the id of the department's mass-send booking (GET
	// /api/v1/massbudget) the campaign's mass send belongs to; for its
	// day. Without one a mass send may use only budget no booking holds.
	Booking string `json:"booking,omitempty"`
	// Variants splits the audience into versions: [{item_id}|{title,
	// summary}] (2–5, with item_id set on the campaign).
	Variants []campaign.Variant `json:"variants"`
	// WinnerAfter ("2h", or seconds) holds half the audience back and
	// sends it the variant with the best lower bound that long after the
	// start.
	WinnerAfter campaign.Seconds `json:"winner_after"`
	// SendTime "optimal" sends each recipient at their best hour within
	// the day (default "": everyone at once).
	SendTime string `json:"send_time"`
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
		dept := strings.TrimSpace(req.Department)
		if req.Booking == "" {
			dept = cmp.Or(dept, p.Department)
		}
		c, err := d.Engine.Create(r.Context(), Account(r), campaign.Draft{Name: req.Name, Audience: req.Audience,
			ItemID: req.ItemID, Mode: req.Mode, Notice: req.Notice, SendAt: req.SendAt, CorrectionOf: req.CorrectionOf, Department: dept, Booking: req.Booking, CreatedBy: p.UserID,
			Variants: req.Variants, WinnerAfter: time.Duration(req.WinnerAfter), SendTime: req.SendTime})
		if err != nil {
			return nil, campaignError(err)
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

	for _, a := range []campaign.Action{campaign.ActStart, campaign.ActPause, campaign.ActResume, campaign.ActCancel} {
		s.Handle("POST /api/v1/campaigns/{id}/"+string(a), func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
			c, err := d.Engine.Change(r.Context(), Account(r), r.PathValue("id"), a)
			if err != nil {
				return nil, campaignError(err)
			}
			return campaignView{Campaign: c, Stats: campaign.Stats{Queued: c.Planned, ByChannel: map[string]int64{}}}, nil
		}, RoleOrganizer)
	}

	// schedule sends a draft at a later time: the composer creates a draft,
	// shows its plan, then sends it now (start) or at send_at (here).
	s.Handle("POST /api/v1/campaigns/{id}/schedule", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		var req scheduleRequest
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		if req.SendAt == nil {
			return nil, Invalid(map[string]string{"send_at": "请填写定时发送的时间"}, "invalid send_at")
		}
		c, err := d.Engine.Schedule(r.Context(), Account(r), r.PathValue("id"), *req.SendAt)
		if err != nil {
			return nil, campaignError(err)
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

// campaignError maps the campaign service's errors to the API's.
func campaignError(err error) error {
	var inv *campaign.InvalidError
	switch {
	case errors.As(err, &inv):
		e := &InvalidError{Msg: "invalid campaign", Fields: inv.Fields}
		var se *segment.SyntaxError
		if errors.As(err, &se) {
			e.Msg, e.Position, e.HasPosition = "audience: "+se.Error(), se.Pos, true
		}
		return e
	case errors.Is(err, campaign.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, campaign.ErrBadTransition):
		return &StatusError{Status: http.StatusConflict, Err: err}
	}
	return err
}
