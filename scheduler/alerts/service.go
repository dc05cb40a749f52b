package alerts

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/redisconn"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/alert"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// Status is where an alert stands.
type Status string

// Alert states: held (waits for an organizer) → approved → sent; or
// skipped (nothing to send, Reason says why).
const (
	StatusHeld     Status = "held"
	StatusApproved Status = "approved"
	StatusSent     Status = "sent"
	StatusSkipped  Status = "skipped"
)

// Reasons an alert is skipped.
const (
	ReasonNotActual  = "not_actual"       // a test, exercise or draft
	ReasonExpired    = "expired"          // expired before it arrived
	ReasonOutside    = "outside_district" // covers none of the towns
	ReasonNoOriginal = "no_original"      // cancels an alert never sent here
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("alert not found")
	// ErrNotHeld: only a held alert can be approved.
	ErrNotHeld = errors.New("alert is not waiting for approval")
)

// Record is one alert as kepubot took it in, with what became of it.
type Record struct {
	ID         string     `json:"id"`
	Account    string     `json:"account"`
	Feed       string     `json:"feed,omitempty"`
	Identifier string     `json:"identifier"`
	Sender     string     `json:"sender"`
	MsgType    string     `json:"msg_type"`
	Event      string     `json:"event"`
	Severity   string     `json:"severity"`
	Urgency    string     `json:"urgency"`
	Headline   string     `json:"headline,omitempty"`
	Kind       string     `json:"kind"`
	Colour     string     `json:"colour,omitempty"`
	Urgent     bool       `json:"urgent"`
	Towns      []string   `json:"towns"`
	Sent       time.Time  `json:"sent"`
	Expires    *time.Time `json:"expires,omitempty"`
	// Original is the id of the alert this one updates or cancels.
	Original   string     `json:"original,omitempty"`
	Status     Status     `json:"status"`
	Reason     string     `json:"reason,omitempty"`
	ReceivedAt time.Time  `json:"received_at"`
	ApprovedBy string     `json:"approved_by,omitempty"`
	ItemID     string     `json:"item_id,omitempty"`
	CampaignID string     `json:"campaign_id,omitempty"`
	SentAt     *time.Time `json:"sent_at,omitempty"`
	// Reach is how many subscribers the notice was sent to (filled by List
	// and Get).
	Reach int64 `json:"reach"`
	// CAP is the alert as received.
	CAP alert.Alert `json:"cap"`
}

// ID is the id kepubot gives the alert of sender and identifier: the same
// on every replica.
func ID(sender, identifier string) string {
	h := sha1.Sum([]byte(alert.Key(sender, identifier)))
	return "al" + hex.EncodeToString(h[:8])
}

// Config is what a Service needs; all but Logger, Loc and Now required.
type Config struct {
	Redis     redis.UniversalClient
	Campaigns *campaign.Engine
	Content   *content.Store
	Taxonomy  *taxonomy.Taxonomy
	Loc       *time.Location
	Now       func() time.Time
	Logger    *slog.Logger
}

// Service takes alerts in, once, and sends their notices.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New returns a service.
func New(cfg Config) (*Service, error) {
	if cfg.Redis == nil || cfg.Campaigns == nil || cfg.Content == nil || cfg.Taxonomy == nil {
		return nil, errors.New("alerts: Redis, Campaigns, Content and Taxonomy are required")
	}
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: cfg.Logger.With("component", "alerts")}, nil
}

// Ingest takes alert a of account in, from feed. An alert seen before
// (same sender and identifier, on any replica, before any restart) changes
// nothing: Ingest returns its record and false. A new one is recorded and,
// when auto and the account does not hold automatic sending, sent.
func (s *Service) Ingest(ctx context.Context, account, feed string, a alert.Alert, auto bool) (*Record, bool, error) {
	id := ID(a.Sender, a.Identifier)
	if old, err := s.Get(ctx, account, id); err == nil {
		return old, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	now := s.cfg.Now()
	r := s.record(ctx, account, feed, id, &a, now)
	if r.Status == "" {
		held, err := s.Held(ctx, account)
		if err != nil {
			return nil, false, err
		}
		r.Status = StatusApproved
		if !auto || held {
			r.Status = StatusHeld
		}
	}
	b, _ := json.Marshal(r)
	ok, err := s.cfg.Redis.SetNX(ctx, recordKey(account, id), b, 0).Result()
	if err != nil {
		return nil, false, fmt.Errorf("take alert %s in: %w", id, err)
	}
	if !ok { // another replica took it in first
		old, err := s.Get(ctx, account, id)
		return old, false, err
	}
	if err := s.cfg.Redis.ZAdd(ctx, idsKey(account), redis.Z{Score: float64(now.UnixMilli()), Member: id}).Err(); err != nil {
		return nil, false, fmt.Errorf("take alert %s in: %w", id, err)
	}
	s.log.Info("alert taken in", "alert", id, "account", account, "msg_type", r.MsgType, "kind", r.Kind,
		"severity", r.Severity, "towns", len(r.Towns), "status", r.Status, "reason", r.Reason)
	if r.Status == StatusApproved {
		if err := s.send(ctx, account, id); err != nil {
			return r, true, err
		}
		r, err = s.Get(ctx, account, id)
		return r, true, err
	}
	return r, true, nil
}

// record describes a new alert; its Status is left empty when it is to be
// sent (or held).
func (s *Service) record(ctx context.Context, account, feed, id string, a *alert.Alert, now time.Time) *Record {
	info := a.Main()
	r := &Record{ID: id, Account: account, Feed: feed, Identifier: a.Identifier, Sender: a.Sender, MsgType: a.MsgType,
		Event: info.Event, Severity: info.Severity, Urgency: info.Urgency, Headline: info.Headline,
		Kind: alert.KindOf(a).ID, Colour: alert.Colour(a), Urgent: alert.Urgent(a),
		Towns: alert.Towns(a, s.cfg.Taxonomy.Towns), Sent: a.SentAt(), ReceivedAt: now.UTC(), CAP: *a}
	if exp := a.ExpiresAt(); !exp.IsZero() {
		r.Expires = &exp
	}
	if a.MsgType == alert.TypeUpdate || a.MsgType == alert.TypeCancel {
		// The newest referenced alert that was sent here.
		refs := a.Refs()
		for i := len(refs) - 1; i >= 0; i-- {
			o, err := s.Get(ctx, account, ID(refs[i].Sender, refs[i].Identifier))
			if err == nil && o.CampaignID != "" {
				r.Original, r.Urgent = o.ID, r.Urgent || o.Urgent
				if len(r.Towns) == 0 {
					r.Towns = o.Towns
				}
				break
			}
		}
	}
	switch {
	case !a.Actionable():
		r.Status, r.Reason = StatusSkipped, ReasonNotActual
	case a.MsgType != alert.TypeCancel && r.Expires != nil && !r.Expires.After(now):
		r.Status, r.Reason = StatusSkipped, ReasonExpired
	case a.MsgType == alert.TypeCancel && r.Original == "":
		r.Status, r.Reason = StatusSkipped, ReasonNoOriginal
	case r.Original == "" && len(r.Towns) == 0:
		r.Status, r.Reason = StatusSkipped, ReasonOutside
	}
	return r
}

// Approve sends held alert id of account, approved by user by.
func (s *Service) Approve(ctx context.Context, account, id, by string) (*Record, error) {
	if _, err := s.update(ctx, account, id, func(r *Record) error {
		if r.Status != StatusHeld {
			return ErrNotHeld
		}
		r.Status, r.ApprovedBy = StatusApproved, by
		return nil
	}); err != nil {
		return nil, err
	}
	if err := s.send(ctx, account, id); err != nil {
		return nil, err
	}
	return s.Get(ctx, account, id)
}

// sendLock is how long one replica may take to send an alert before
// another may try (Resume).
const sendLock = 2 * time.Minute

// send turns approved alert id into its notice item and campaign, and
// starts it. One replica at a time (a lock), and never twice: the
// campaign is started once per alert (campaign.Engine.StartOnce), so a
// replica that dies anywhere in here leaves nothing for Resume to send
// again.
func (s *Service) send(ctx context.Context, account, id string) error {
	ok, err := s.cfg.Redis.SetNX(ctx, lockKey(account, id), 1, sendLock).Result()
	if err != nil || !ok {
		return err // another replica sends it
	}
	defer s.cfg.Redis.Del(context.WithoutCancel(ctx), lockKey(account, id))
	r, err := s.Get(ctx, account, id)
	if err != nil {
		return err
	}
	if r.Status != StatusApproved {
		return nil
	}
	it, err := s.noticeItem(ctx, r)
	if err != nil {
		return err
	}
	d := campaign.Draft{Name: it.Title, ItemID: it.ID, Notice: true, Urgent: r.Urgent, Alert: true, CreatedBy: "alerts"}
	if r.Original != "" {
		orig, err := s.Get(ctx, account, r.Original)
		if err != nil {
			return err
		}
		if orig.CampaignID == "" { // never: record sets Original only to a sent alert
			return fmt.Errorf("alert %s: original %s has no campaign", id, orig.ID)
		}
		d.FollowUpOf = orig.CampaignID
	} else {
		d.Audience = "town:(" + strings.Join(r.Towns, "|") + ")"
	}
	// Once per alert, however many replicas or retries get here: a
	// replica that died after starting it (before the record below) left
	// the campaign mapped to this key, and the next try finds it.
	c, err := s.cfg.Campaigns.StartOnce(ctx, "alert:"+account+":"+id, account, d)
	if err != nil {
		return fmt.Errorf("alert %s campaign: %w", id, err)
	}
	r.ItemID, r.CampaignID = it.ID, c.ID
	now := s.cfg.Now().UTC()
	if _, err := s.update(ctx, account, id, func(rec *Record) error {
		rec.ItemID, rec.CampaignID = r.ItemID, r.CampaignID
		rec.Status, rec.SentAt = StatusSent, &now
		return nil
	}); err != nil {
		return err
	}
	s.log.Info("alert sent", "alert", id, "account", account, "campaign", r.CampaignID, "urgent", r.Urgent)
	return nil
}

// noticeItem publishes the notice of r as an item (a trusted source: the
// alerting authority; the organizer's approval, when held, is its review).
func (s *Service) noticeItem(ctx context.Context, r *Record) (content.Item, error) {
	now := s.cfg.Now()
	k := alert.KindOf(&r.CAP)
	var names []string
	for _, id := range r.Towns {
		if tw, ok := s.cfg.Taxonomy.Town(id); ok {
			names = append(names, firstNonEmpty(tw.Short, tw.Name))
		}
	}
	var advice []alert.Link
	url := strings.TrimSpace(r.CAP.Main().Web)
	items, err := s.cfg.Content.Published(ctx, r.Account, content.Query{Topics: k.Topics, At: now})
	if err != nil {
		return content.Item{}, err
	}
	for _, it := range items {
		if strings.HasPrefix(it.ExternalID, externalPrefix) || !slices.ContainsFunc(it.Topics, func(t string) bool { return slices.Contains(k.Topics, t) }) {
			continue
		}
		advice = append(advice, alert.Link{Title: it.Title, URL: it.URL})
		if len(advice) == 3 {
			break
		}
	}
	if len(advice) > 0 {
		url = advice[0].URL
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		url = "http://www.12379.cn/" // the national early-warning release centre
	}
	n := alert.NoticeFor(&r.CAP, names, advice, s.cfg.Loc)
	until := now.Add(12 * time.Hour)
	if r.Expires != nil && r.Expires.Before(until) && r.MsgType != alert.TypeCancel {
		until = *r.Expires
	}
	if r.MsgType == alert.TypeCancel {
		until = now.Add(time.Hour)
	}
	it := content.Item{ExternalID: externalPrefix + r.ID, Title: n.Title, Summary: n.Summary, Short: n.Short, Body: n.Body,
		URL: url, Audience: content.Audience{Towns: r.Towns, Topics: k.Topics}, ValidUntil: until, Priority: content.MaxPriority,
		Source: clip(firstNonEmpty(r.CAP.Main().SenderName, r.Sender), content.MaxTitle)}
	out, _, err := s.cfg.Content.UpsertItem(ctx, r.Account, it, "alerts", true)
	if err != nil {
		return content.Item{}, fmt.Errorf("alert %s notice item: %w", r.ID, err)
	}
	return out, nil
}

// externalPrefix marks the external id of an alert's notice item.
const externalPrefix = "alert:"

// Resume sends the approved alerts of account that a replica stopped
// sending (it died between approval and start).
func (s *Service) Resume(ctx context.Context, account string) error {
	list, err := s.List(ctx, account, 50)
	if err != nil {
		return err
	}
	for _, r := range list {
		if r.Status == StatusApproved {
			if err := s.send(ctx, account, r.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Get returns alert id of account with its reach, or ErrNotFound.
func (s *Service) Get(ctx context.Context, account, id string) (*Record, error) {
	b, err := s.cfg.Redis.Get(ctx, recordKey(account, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get alert %s: %w", id, err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("get alert %s: %w", id, err)
	}
	return &r, nil
}

// List returns account's newest alerts first, with their reach.
func (s *Service) List(ctx context.Context, account string, limit int) ([]*Record, error) {
	ids, err := s.cfg.Redis.ZRevRange(ctx, idsKey(account), 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	out := make([]*Record, 0, len(ids))
	var camps []string
	for _, id := range ids {
		r, err := s.Get(ctx, account, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		if r.CampaignID != "" {
			camps = append(camps, r.CampaignID)
		}
	}
	totals, err := s.cfg.Campaigns.Totals(ctx, account, camps)
	if err != nil {
		return nil, fmt.Errorf("alert reach: %w", err)
	}
	i := 0
	for _, r := range out {
		if r.CampaignID != "" {
			r.Reach = totals[i].Sent
			i++
		}
	}
	return out, nil
}

// SetHold holds (or releases) automatic sending for account: held alerts
// wait for an organizer's approval.
func (s *Service) SetHold(ctx context.Context, account string, hold bool) error {
	if hold {
		return s.cfg.Redis.Set(ctx, holdKey(account), 1, 0).Err()
	}
	return s.cfg.Redis.Del(ctx, holdKey(account)).Err()
}

// Held reports whether account holds automatic sending.
func (s *Service) Held(ctx context.Context, account string) (bool, error) {
	n, err := s.cfg.Redis.Exists(ctx, holdKey(account)).Result()
	if err != nil {
		return false, fmt.Errorf("alert hold: %w", err)
	}
	return n == 1, nil
}

// update changes record id with optimistic locking.
func (s *Service) update(ctx context.Context, account, id string, fn func(r *Record) error) (*Record, error) {
	return redisconn.UpdateJSON(ctx, s.cfg.Redis, recordKey(account, id), ErrNotFound, fn)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
