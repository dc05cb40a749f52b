package campaign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/calendar"
)

// The campaign service: the one place a campaign is created and changes
// state. The admin API, the console (through it), quiz invitations, event
// notices, the scheduler and the CLI all call these methods; nobody else
// builds a Campaign or writes its Status.

// Action is a change of a campaign's state.
type Action string

// Actions, with the states each is allowed from in transitions.
const (
	ActSchedule Action = "schedule" // a draft starts by itself at SendAt
	ActStart    Action = "start"
	ActPause    Action = "pause"
	ActResume   Action = "resume"
	ActCancel   Action = "cancel"
	ActFinish   Action = "finish" // the engine, after the last send
)

// transitions is every allowed state change: from which states, to which.
var transitions = map[Action]struct {
	from []Status
	to   Status
}{
	ActSchedule: {[]Status{StatusDraft}, StatusScheduled},
	ActStart:    {[]Status{StatusDraft, StatusScheduled}, StatusRunning},
	ActPause:    {[]Status{StatusRunning}, StatusPaused},
	ActResume:   {[]Status{StatusPaused}, StatusRunning},
	ActCancel:   {[]Status{StatusDraft, StatusScheduled, StatusRunning, StatusPaused}, StatusCancelled},
	ActFinish:   {[]Status{StatusRunning}, StatusDone},
}

// Can reports whether c may take action a now.
func (c *Campaign) Can(a Action) bool {
	t, ok := transitions[a]
	return ok && slices.Contains(t.from, c.Status)
}

// apply changes c's state by a, or returns ErrBadTransition.
func (c *Campaign) apply(a Action, now time.Time) error {
	if !c.Can(a) {
		return ErrBadTransition
	}
	c.Status = transitions[a].to
	switch a {
	case ActStart:
		c.StartedAt = &now
	case ActFinish:
		c.DoneAt, c.Waiting = &now, nil
	case ActCancel, ActPause:
		c.Waiting = nil
	}
	return nil
}

// Draft is what a caller asks a campaign to be.
type Draft struct {
	Name     string
	Audience string // segment expression; "" = everyone reachable
	// ItemID sends one item; Mode ModePersonalized picks one per subscriber.
	ItemID string
	Mode   string
	// Notice marks a service notice (it may go as a template message).
	Notice bool
	// SendAt schedules the campaign (nil: a draft to start later).
	SendAt *time.Time
	// CorrectionOf sends only to those who received this (retired) item.
	CorrectionOf string
	// FollowUpOf sends only to those campaign FollowUpOf was sent to.
	FollowUpOf string
	// Urgent sends through quiet hours and frequency caps: only for
	// severe hazard alerts.
	Urgent bool
	// Department is the department the campaign is for ("" when none:
	// the booking's, when it names one).
	Department string
	// Booking is the id of the booking whose mass send the campaign
	// makes: of its department, for its send day.
	Booking string
	// Alert marks a hazard alert (it may use the alert's mass send).
	Alert bool
	// Variants split the audience into versions of the message (at
	// least two; with ItemID); WinnerAfter > 0 holds half back and sends
	// it the best variant that long after the start (variants.go).
	Variants    []Variant
	WinnerAfter time.Duration
	// SendTime SendOptimal sends each recipient at their best hour of
	// the day (sendtime.go); "" everyone at once.
	SendTime  string
	CreatedBy string
}

// InvalidError is a draft's problems, by field, in Chinese for the person
// who wrote it (content.ValidationError, the domain's one validation
// error). Err is the audience's own error, when it has one (a
// *segment.SyntaxError with its position): errors.As reaches it.
type InvalidError struct {
	content.ValidationError
	Err error
}

func (e *InvalidError) Unwrap() error { return e.Err }

// Create validates d and stores it as a draft of account, or as scheduled
// when it has a SendAt (then it starts by itself at that time, once across
// replicas).
func (e *Engine) Create(ctx context.Context, account string, d Draft) (*Campaign, error) {
	now := e.cfg.Now()
	fields := map[string]string{}
	inv := &InvalidError{ValidationError: content.ValidationError{Fields: fields}}
	c := &Campaign{Account: account, Name: strings.TrimSpace(d.Name), Audience: strings.TrimSpace(d.Audience),
		Notice: d.Notice, Status: StatusDraft, Department: strings.TrimSpace(d.Department), CreatedBy: d.CreatedBy, CreatedAt: now.UTC()}
	if c.Name == "" || len([]rune(c.Name)) > 100 {
		fields["name"] = "请填写名称（最多 100 个字）"
	}
	if len([]rune(c.Department)) > 40 {
		fields["department"] = "部门名称最多 40 个字"
	}
	if _, err := e.cfg.Compile(c.Audience, now); err != nil {
		fields["audience"] = err.Error()
		inv.Err = err
	}
	switch {
	case d.ItemID != "" && d.Mode != "" && d.Mode != ModeItem:
		fields["mode"] = "选了一条内容，就不能再选“为每人挑选”"
	case d.ItemID != "":
		c.Mode, c.ItemID = ModeItem, d.ItemID
		it, err := e.cfg.Items.Item(ctx, account, d.ItemID)
		switch {
		case err != nil:
			fields["item_id"] = "没有这条内容"
		case it.Status != content.StatusPublished:
			fields["item_id"] = "这条内容还没有发布，只能推送已发布的内容"
		}
	case d.Mode == ModePersonalized:
		c.Mode = ModePersonalized
	default:
		fields["item_id"] = "请选一条已发布的内容，或选“为每人挑选”"
	}
	if d.CorrectionOf != "" {
		if _, err := e.cfg.Items.Item(ctx, account, d.CorrectionOf); err != nil {
			fields["correction_of"] = "没有这条内容"
		}
		c.CorrectionOf = d.CorrectionOf
	}
	if d.FollowUpOf != "" {
		if _, err := e.cfg.Store.Get(ctx, account, d.FollowUpOf); err != nil {
			fields["follow_up_of"] = "没有这个推送"
		}
		c.FollowUpOf = d.FollowUpOf
	}
	c.Urgent, c.Alert = d.Urgent, d.Alert
	if err := e.validateBooking(ctx, account, d, c, fields); err != nil {
		return nil, err
	}
	e.validateVariants(ctx, account, d, c, fields)
	switch d.SendTime {
	case "", SendOptimal:
		c.SendTime = d.SendTime
	default:
		fields["send_time"] = "发送时间只能不填（马上一起发），或填 optimal（每人在最常看消息的时候收到）"
	}
	if d.SendAt != nil {
		if !d.SendAt.After(now) {
			fields["send_at"] = "定时发送的时间要在将来"
		}
		c.SendAt = d.SendAt
		c.apply(ActSchedule, now)
	}
	if len(fields) > 0 {
		return nil, inv
	}
	if err := e.cfg.Store.Create(ctx, c); err != nil {
		return nil, err
	}
	if c.Booking != "" {
		if err := e.cfg.Calendar.Link(ctx, account, c.Booking, scope(c).ChannelIndex("mass")); err != nil {
			return nil, err
		}
	}
	if c.Status == StatusScheduled {
		if err := e.Enqueue(ctx, c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Change takes action a on campaign id of account: start (it is sent now),
// pause, resume or cancel. A change its state does not allow is
// ErrBadTransition.
func (e *Engine) Change(ctx context.Context, account, id string, a Action) (*Campaign, error) {
	if a == ActSchedule || a == ActFinish {
		return nil, fmt.Errorf("change campaign %s: %s is not a change a caller makes: %w", id, a, ErrBadTransition)
	}
	now := e.cfg.Now()
	c, err := e.cfg.Store.Update(ctx, account, id, func(c *Campaign) error { return c.apply(a, now) })
	if err != nil {
		return nil, err
	}
	if a == ActStart {
		if err := e.Enqueue(ctx, &Campaign{ID: c.ID, Account: c.Account}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Schedule makes draft id of account start by itself at at (in the future).
func (e *Engine) Schedule(ctx context.Context, account, id string, at time.Time) (*Campaign, error) {
	if !at.After(e.cfg.Now()) {
		return nil, &InvalidError{ValidationError: content.ValidationError{Fields: map[string]string{"send_at": "定时发送的时间要在将来"}}}
	}
	c, err := e.cfg.Store.Update(ctx, account, id, func(c *Campaign) error {
		if err := c.apply(ActSchedule, e.cfg.Now()); err != nil {
			return err
		}
		c.SendAt = &at
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, e.Enqueue(ctx, c)
}

// validateBooking checks the booking a draft names: it exists, is its
// department's and is for its send day (when it has one). The campaign
// takes the booking's department when it names none.
func (e *Engine) validateBooking(ctx context.Context, account string, d Draft, c *Campaign, fields map[string]string) error {
	id := strings.TrimSpace(d.Booking)
	if id == "" {
		return nil
	}
	if e.cfg.Calendar == nil {
		fields["booking"] = "没有启用群发日历，不能选预约"
		return nil
	}
	b, err := e.cfg.Calendar.Get(ctx, account, id)
	switch {
	case errors.Is(err, calendar.ErrNoBooking):
		fields["booking"] = "没有这个预约"
		return nil
	case err != nil:
		return err
	}
	c.Booking = b.ID
	if c.Department == "" {
		c.Department = b.Department
	}
	if c.Department != b.Department {
		fields["booking"] = fmt.Sprintf("这个预约是%s的，不是%s的", b.Department, c.Department)
	}
	if d.SendAt != nil && d.SendAt.In(e.cfg.Loc).Format("2006-01-02") != b.Date {
		fields["send_at"] = fmt.Sprintf("预约的群发日期是 %s，发送时间要在这一天", b.Date)
	}
	return nil
}
