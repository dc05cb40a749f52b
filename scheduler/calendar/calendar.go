// Package calendar shares an account's mass-send budget between the
// departments that use it. WeChat delivers at most four mass messages a
// month to each subscriber of a service account; organizers book a date
// and an audience, and a booking that would give anyone a fifth is
// refused. One of the four is kept for hazard alerts: a booking that
// would use someone's last one is accepted with a warning.
//
// Budgets are exact per subscriber: each booking's audience is kept as a
// bitmap per profile shard (its snapshot when booked), and per local id
// the month's mass sends made (profile.Store.MassCounts) and those held
// by bookings still ahead are counted.
//
// The delivery core reads the same bookings (Reservations): a campaign's
// mass send uses its own booking, or only budget nobody's booking holds
// and that is not kept for alerts (Allows).
package calendar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// Limit is WeChat's mass messages per subscriber and calendar month.
const Limit = 4

// AlertReserve is how many of them bookings leave for hazard alerts.
const AlertReserve = 1

// Booking is a department's reservation of a mass send.
type Booking struct {
	ID         string    `json:"id"`
	Date       string    `json:"date"` // YYYY-MM-DD, the district's calendar
	Audience   string    `json:"audience"`
	Department string    `json:"department"`
	CreatedBy  string    `json:"created_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	Reach      int64     `json:"reach"` // reachable subscribers when booked
}

// Remaining is the budget left in a group or town.
type Remaining struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Subscribers int64  `json:"subscribers"`
	// MinLeft is the fewest mass sends left to any of its subscribers
	// (Limit when none is booked).
	MinLeft int `json:"min_left"`
	// Exhausted counts subscribers with no mass send left.
	Exhausted int64 `json:"exhausted"`
	// Sent is how many mass messages its subscribers were sent this
	// month (made, not booked).
	Sent int64 `json:"mass_sent"`
}

// Budget is an account's month: its bookings and what is left.
type Budget struct {
	Month        string      `json:"month"`
	Limit        int         `json:"limit"`
	AlertReserve int         `json:"alert_reserve"`
	Bookings     []Booking   `json:"bookings"`
	Groups       []Remaining `json:"groups"`
	Towns        []Remaining `json:"towns"`
}

// Result is a booking made, with what the organizer should know.
type Result struct {
	Booking Booking `json:"booking"`
	// Warning, when set, says the booking uses some subscribers' last mass
	// send: no hazard alert can reach them by mass send this month.
	Warning string `json:"warning,omitempty"`
	// LastSlot counts those subscribers.
	LastSlot int64 `json:"last_slot"`
}

// ErrOverBudget refuses a booking that would exceed someone's budget;
// its message is for the organizer.
var ErrOverBudget = errors.New("over the monthly mass-send budget")

// OverBudgetError is ErrOverBudget with the numbers, worded in Chinese.
type OverBudgetError struct {
	Date string
	Over int64 // subscribers who would get a fifth mass message
}

func (e *OverBudgetError) Error() string {
	return fmt.Sprintf("这次预约超出群发额度：所选人群中有 %d 人本月已被预约满 %d 条群发（微信每人每月最多收 %d 条），%s 不能再给他们群发。请缩小人群，或改到下个月。",
		e.Over, Limit, Limit, e.Date)
}

func (e *OverBudgetError) Unwrap() error { return ErrOverBudget }

// Config is what a Service needs.
type Config struct {
	Redis    redis.UniversalClient
	Profiles *profile.Store
	Taxonomy *taxonomy.Taxonomy
	// Compile turns an audience expression into a profile program (its
	// error is shown to the organizer).
	Compile func(expr string, at time.Time) (profile.Program, error)
	Loc     *time.Location
	Now     func() time.Time
}

// Service keeps bookings and computes budgets.
type Service struct{ cfg Config }

// New returns a service.
func New(cfg Config) *Service {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// Budget computes account's budget for month (YYYY-MM): what is left to
// each subscriber after the mass sends made this month and those booked
// from today on.
func (s *Service) Budget(ctx context.Context, account, month string) (*Budget, error) {
	if _, err := time.ParseInLocation("2006-01", month, s.cfg.Loc); err != nil {
		return nil, content.Invalid(map[string]string{"month": "月份格式应为 2027-03"})
	}
	bs, err := s.bookings(ctx, account, month)
	if err != nil {
		return nil, err
	}
	counts, err := s.count(ctx, account, month, bs, nil)
	if err != nil {
		return nil, err
	}
	b := &Budget{Month: month, Limit: Limit, AlertReserve: AlertReserve, Bookings: bs, Groups: counts.groups, Towns: counts.towns}
	if b.Bookings == nil {
		b.Bookings = []Booking{}
	}
	return b, nil
}

// Book reserves a mass send of audience on date (YYYY-MM-DD) for
// department. Bad input is a *content.ValidationError (Chinese, by
// field); a booking that would give anyone more than Limit mass sends in
// the month (counting those made and those booked) is an
// *OverBudgetError; nothing is stored then. An accepted booking keeps its
// audience as booked: that is whom it holds a mass send for.
func (s *Service) Book(ctx context.Context, account string, b Booking) (*Result, error) {
	now := s.cfg.Now()
	fields := map[string]string{}
	b.Audience, b.Department = strings.TrimSpace(b.Audience), strings.TrimSpace(b.Department)
	day, err := time.ParseInLocation("2006-01-02", b.Date, s.cfg.Loc)
	switch {
	case err != nil:
		fields["date"] = "日期格式应为 2027-03-15"
	case day.AddDate(0, 0, 1).Before(now):
		fields["date"] = "只能预约今天或以后的日期"
	}
	if b.Department == "" || len([]rune(b.Department)) > 40 {
		fields["department"] = "请填写部门名称（最多 40 个字）"
	}
	prog, err := s.cfg.Compile(b.Audience, now)
	if err != nil {
		fields["audience"] = err.Error()
	}
	if len(fields) > 0 {
		return nil, content.Invalid(fields)
	}
	month := day.Format("2006-01")
	ok, err := s.cfg.Redis.SetNX(ctx, lockKey(account, month), 1, time.Minute).Result()
	if err != nil {
		return nil, fmt.Errorf("book: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("book: %w", errBusy)
	}
	defer s.cfg.Redis.Del(context.WithoutCancel(ctx), lockKey(account, month))
	bs, err := s.bookings(ctx, account, month)
	if err != nil {
		return nil, err
	}
	n, err := s.cfg.Redis.Incr(ctx, seqKey(account)).Result()
	if err != nil {
		return nil, fmt.Errorf("book: %w", err)
	}
	b.ID, b.CreatedAt = "bk"+strconv.FormatInt(n, 10), now.UTC()
	c, err := s.cfg.Profiles.Materialize(ctx, account, profile.And(prog, profile.Reachable()), audienceIndex(b.ID), audienceTTL)
	if err != nil {
		return nil, err
	}
	b.Reach = c.Total
	counts, err := s.count(ctx, account, month, bs, &b)
	if err != nil {
		return nil, err
	}
	if counts.over > 0 {
		return nil, &OverBudgetError{Date: b.Date, Over: counts.over}
	}
	keep := s.keepFor(b.Date)
	if err := s.cfg.Profiles.ExpireIndex(ctx, account, audienceIndex(b.ID), keep); err != nil {
		return nil, fmt.Errorf("book: %w", err)
	}
	raw, _ := json.Marshal(b)
	_, err = s.cfg.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, snapKey(account, b.ID), 1, keep)
		p.HSet(ctx, idsKey(account), b.ID, month)
		p.RPush(ctx, monthKey(account, month), raw)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("book: %w", err)
	}
	res := &Result{Booking: b, LastSlot: counts.lastSlot}
	if counts.lastSlot > 0 {
		res.Warning = fmt.Sprintf("已预约。提醒：这次群发会用掉 %d 人本月最后一条群发额度，他们本月收不到群发的灾害预警了（预警仍可通过客服消息或模板消息送达）。", counts.lastSlot)
	}
	return res, nil
}

// errBusy: another booking of the month is being checked.
var errBusy = errors.New("另一个预约正在核算，请稍后再试")

// ErrBusy reports whether err is a booking refused because another one
// of the month was being checked at the same moment.
func ErrBusy(err error) bool { return errors.Is(err, errBusy) }

// bookings lists the month's bookings in booking order.
func (s *Service) bookings(ctx context.Context, account, month string) ([]Booking, error) {
	raws, err := s.cfg.Redis.LRange(ctx, monthKey(account, month), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("bookings of %s: %w", month, err)
	}
	out := make([]Booking, 0, len(raws))
	for _, r := range raws {
		var b Booking
		if err := json.Unmarshal([]byte(r), &b); err != nil {
			return nil, fmt.Errorf("bookings of %s: %w", month, err)
		}
		out = append(out, b)
	}
	return out, nil
}
