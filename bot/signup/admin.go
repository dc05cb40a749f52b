package signup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// What organizers do with an event besides the content API: its check-in
// QR scene, a notice campaign, and a copy for next year.

// SceneID is the QR scene string of event id's check-in code: fixed, so
// that two replicas creating it at once make the same scene.
func SceneID(eventID string) string { return "ev." + eventID }

// CheckInScene returns event ev's check-in scene, creating and saving it
// when it has none. Its code is temporary (WeChat's 30 days at most) when
// the event ends within 29 days, else permanent. The caller creates the
// WeChat QR code when the scene has no Ticket, and saves the ticket with
// SaveScene.
func (s *Service) CheckInScene(ctx context.Context, account string, ev content.Event) (qrcode.Scene, error) {
	if s.cfg.Scenes == nil {
		return qrcode.Scene{}, errors.New("check-in scene: no scene store")
	}
	sc, err := s.cfg.Scenes.Get(ctx, account, SceneID(ev.ID))
	if err == nil {
		return sc, nil
	}
	if !errors.Is(err, qrcode.ErrNotFound) {
		return qrcode.Scene{}, err
	}
	now := s.cfg.Now().UTC()
	sc = qrcode.Scene{Scene: SceneID(ev.ID), Event: ev.ID, Town: ev.Town, Group: s.singleGroup(ev.Audience),
		Source: "event", CreatedAt: now}
	if until := ev.EndsAt.Add(24 * time.Hour); until.Sub(now) < wechat.MaxQRExpire {
		sc.Temporary, sc.ExpiresAt = true, until
	}
	if err := s.cfg.Scenes.Save(ctx, account, sc); err != nil {
		return qrcode.Scene{}, err
	}
	return sc, nil
}

// SaveScene stores a check-in scene once its QR code exists.
func (s *Service) SaveScene(ctx context.Context, account string, sc qrcode.Scene) error {
	return s.cfg.Scenes.Save(ctx, account, sc)
}

// NoticeItem is the content item a notice campaign sends: the event's
// title, time, place and sign-up code, linking to url.
func (s *Service) NoticeItem(ev content.Event, url string) content.Item {
	summary := fmt.Sprintf("时间：%s\n地点：%s\n回复“报名 %s”即可报名，名额%d个，先到先得。",
		s.when(ev.StartsAt), venue(ev), ev.Code, ev.Capacity)
	return content.Item{
		ExternalID: "event-notice:" + ev.ID,
		Title:      "活动报名｜" + ev.Title,
		Summary:    summary,
		Short:      fmt.Sprintf("回复“报名 %s”报名", ev.Code),
		Body:       ev.Description,
		URL:        url,
		ValidUntil: ev.StartsAt,
		Priority:   90,
		Source:     "增城区科协",
	}
}

// CreateNotice creates a notice campaign (a service notice: it may go as a
// template message) to ev's audience, sending an item made from the event
// with its sign-up code, and links it to the event for the statistics.
// The item is published directly: its facts are the event's, which an
// organizer already wrote. The campaign is a draft to start through the
// campaign API, or scheduled when sendAt is set.
func (s *Service) CreateNotice(ctx context.Context, account string, ev content.Event, url, by string, sendAt *time.Time) (*campaign.Campaign, error) {
	if s.cfg.Campaigns == nil || s.cfg.Engine == nil {
		return nil, errors.New("create notice: campaigns are not configured")
	}
	if ev.Status != content.StatusPublished {
		return nil, fmt.Errorf("create notice for %s: %w", ev.ID, ErrClosed)
	}
	it, _, err := s.cfg.Events.UpsertItem(ctx, account, s.NoticeItem(ev, url), by, true)
	if err != nil {
		return nil, fmt.Errorf("create notice item for %s: %w", ev.ID, err)
	}
	c, err := s.cfg.Engine.Create(ctx, account, campaign.Draft{Name: truncate("活动通知："+ev.Title, 100), Audience: ev.Audience,
		ItemID: it.ID, Notice: true, CreatedBy: by, SendAt: sendAt})
	if err != nil {
		return nil, err
	}
	if err := s.rdb.HSet(ctx, keysFor(account, ev.ID).meta(), "campaign", c.ID).Err(); err != nil {
		return nil, fmt.Errorf("link notice to %s: %w", ev.ID, err)
	}
	return c, nil
}

// Clone copies event id to year: the same month, day and local time (in
// the district's zone; 29 February becomes 28 February), sign-up window and
// reminders moved alike, a new code and a draft status. Events of the
// plan (全国科普日, 科技活动周) recur every year: organizers clone last
// year's and adjust.
func (s *Service) Clone(ctx context.Context, account, id string, year int) (content.Event, error) {
	if year < 2000 || year > 2100 {
		return content.Event{}, fmt.Errorf("clone %s: year %d out of range", id, year)
	}
	ev, err := s.event(ctx, account, id)
	if err != nil {
		return content.Event{}, err
	}
	move := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		l := t.In(s.cfg.Loc)
		d := l.Day()
		if l.Month() == time.February && d == 29 {
			d = 28
		}
		return time.Date(year+(l.Year()-ev.StartsAt.In(s.cfg.Loc).Year()), l.Month(), d, l.Hour(), l.Minute(), l.Second(), 0, s.cfg.Loc)
	}
	c := ev
	c.ID, c.Code, c.ExternalID, c.Status, c.CreatedAt = "", "", "", "", time.Time{}
	c.StartsAt, c.EndsAt = move(ev.StartsAt), move(ev.EndsAt)
	c.SignupOpens, c.SignupCloses = move(ev.SignupOpens), move(ev.SignupCloses)
	c.Title = strings.ReplaceAll(ev.Title, fmt.Sprint(ev.StartsAt.In(s.cfg.Loc).Year()), fmt.Sprint(year))
	out, err := s.cfg.Events.CreateEvent(ctx, account, c)
	if err != nil {
		return content.Event{}, fmt.Errorf("clone %s: %w", id, err)
	}
	return out, nil
}
