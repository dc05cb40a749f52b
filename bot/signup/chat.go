package signup

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/content"
)

// Routes adds the event commands to the bot's mux (bot.Options.Routes):
// 报名 <code>, 取消报名 <code>, 我的活动 and 评价<n>.
func (s *Service) Routes(m *bot.Mux) {
	m.Prefix(wordsCancel, bot.HandlerFunc(s.cancelCmd))
	m.Prefix(wordsSignup, bot.HandlerFunc(s.signupCmd))
	m.Prefix(wordsFeedback, bot.HandlerFunc(s.feedbackCmd))
	m.Command(bot.ReadOnly(bot.HandlerFunc(s.mine)), wordsMine...) // reads the sign-ups from Redis, not the cached profile
}

// opID names one inbound message for the scripts' rerun protection.
func opID(m *bot.Message) string {
	// By pseudonym: the result outlives an erasure by minutes.
	who := profile.Pseudonym(m.OpenID)
	if m.MsgID != 0 {
		return who + ":m" + strconv.FormatInt(m.MsgID, 10)
	}
	return who + ":e" + strconv.FormatInt(m.CreateTime.Unix(), 10)
}

// who describes a subscriber for statistics.
func who(p *profile.Profile) string {
	if p == nil {
		return "|"
	}
	return p.Group + "|" + p.Town
}

// argument returns the text after a command word, upper-cased, with
// full-width characters folded: "报名 kx2027" → "KX2027".
func argument(text, word string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(text) {
		switch {
		case r == '\u3000':
			r = ' '
		case r >= '\uff01' && r <= '\uff5e':
			r -= 0xfee0
		}
		b.WriteRune(r)
	}
	rest, _ := strings.CutPrefix(strings.TrimSpace(b.String()), word)
	return strings.ToUpper(strings.Join(strings.Fields(rest), ""))
}

// openListed is how many open events 报名 without a code lists.
const openListed = 5

// openList answers 报名 without a code: the events taking sign-ups now,
// soonest first, each with its code.
func (s *Service) openList(ctx context.Context, account string) (bot.Reply, error) {
	evs, err := s.recentEvents(ctx, account, s.cfg.Now())
	if err != nil {
		return bot.Reply{}, err
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].StartsAt.Before(evs[j].StartsAt) })
	lines := []string{txtSignupOpen}
	for _, ev := range evs {
		if s.open(ev) != nil || len(lines) > openListed {
			continue
		}
		lines = append(lines, fmt.Sprintf("· 「%s」%s，%s（活动码 %s）", ev.Title, s.when(ev.StartsAt), venue(ev), ev.Code))
	}
	if len(lines) == 1 {
		return bot.Text(txtSignupNone), nil
	}
	code := evs[slices.IndexFunc(evs, func(ev content.Event) bool { return s.open(ev) == nil })].Code
	return bot.Text(strings.Join(append(lines, fmt.Sprintf(txtSignupHow, code)), "\n")), nil
}

func (s *Service) signupCmd(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	code := argument(req.Msg.Text, wordsSignup)
	if code == "" {
		return s.openList(ctx, req.Msg.Account)
	}
	ev, err := s.ByCode(ctx, req.Msg.Account, code)
	if errors.Is(err, ErrNotFound) {
		return bot.Text(fmt.Sprintf(txtNoEvent, code)), nil
	}
	if err != nil {
		return bot.Reply{}, err
	}
	res, err := s.SignUp(ctx, req.Msg.Account, ev, req.Msg.OpenID, opID(req.Msg), who(req.Profile))
	if errors.Is(err, ErrClosed) {
		return bot.Text(fmt.Sprintf(txtClosed, ev.Title)), nil
	}
	if err != nil {
		return bot.Reply{}, err
	}
	learn(req, ev, signupBoost)
	if err := s.ScheduleReminders(ctx, req.Msg.Account, ev); err != nil {
		s.log.Warn("reminders not scheduled", "event", ev.ID, "err", err)
	}
	if res.Status == Waitlisted {
		return bot.Text(fmt.Sprintf(txtWaitlisted, ev.Title, res.Position, ev.Code)), nil
	}
	return bot.Text(fmt.Sprintf(txtConfirmed, ev.Title, s.when(ev.StartsAt), venue(ev), ev.Code)), nil
}

func (s *Service) cancelCmd(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	code := argument(req.Msg.Text, wordsCancel)
	if code == "" {
		return bot.Text(txtCancelUsage), nil
	}
	ev, err := s.ByCode(ctx, req.Msg.Account, code)
	if errors.Is(err, ErrNotFound) {
		return bot.Text(fmt.Sprintf(txtNoEvent, code)), nil
	}
	if err != nil {
		return bot.Reply{}, err
	}
	c, err := s.Cancel(ctx, req.Msg.Account, ev, req.Msg.OpenID, opID(req.Msg))
	if err != nil {
		return bot.Reply{}, err
	}
	switch c.Was {
	case Confirmed:
		return bot.Text(fmt.Sprintf(txtCancelled, ev.Title)), nil
	case Waitlisted:
		return bot.Text(fmt.Sprintf(txtLeftWait, ev.Title)), nil
	}
	return bot.Text(fmt.Sprintf(txtNotSigned, ev.Title)), nil
}

// mine lists the subscriber's upcoming and recent events.
func (s *Service) mine(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	now := s.cfg.Now()
	evs, err := s.recentEvents(ctx, req.Msg.Account, now.Add(-7*24*time.Hour))
	if err != nil {
		return bot.Reply{}, err
	}
	o := req.Msg.OpenID
	type row struct {
		conf *redis.FloatCmd
		rank *redis.IntCmd
		att  *redis.FloatCmd
	}
	rows := make([]row, len(evs))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ev := range evs {
			k := keysFor(req.Msg.Account, ev.ID)
			rows[i] = row{p.ZScore(ctx, k.confirmed(), o), p.ZRank(ctx, k.waitlist(), o), p.ZScore(ctx, k.attended(), o)}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return bot.Reply{}, fmt.Errorf("list sign-ups: %w", err)
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].StartsAt.Before(evs[j].StartsAt) })
	var lines []string
	for i, ev := range evs {
		r := rows[i]
		var state string
		switch {
		case r.att.Err() == nil:
			state = "已签到"
		case r.conf.Err() == nil:
			state = "已报名"
		case r.rank.Err() == nil:
			state = fmt.Sprintf("候补第%d位", r.rank.Val()+1)
		default:
			continue
		}
		lines = append(lines, fmt.Sprintf("· 「%s」%s %s（活动码 %s）", ev.Title, s.when(ev.StartsAt), state, ev.Code))
	}
	if len(lines) == 0 {
		return bot.Text(txtMyNone), nil
	}
	return bot.Text(txtMyHeader + "\n" + strings.Join(lines, "\n") + "\n\n" + txtCancelUsage), nil
}

var feedbackRE = regexp.MustCompile(`^[123]$`)

// feedbackCmd takes the answer to the feedback question of the most
// recent event the subscriber was asked about.
func (s *Service) feedbackCmd(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	answer := argument(req.Msg.Text, wordsFeedback)
	if !feedbackRE.MatchString(answer) {
		return bot.Text(txtFeedbackBad), nil
	}
	now := s.cfg.Now()
	evs, err := s.recentEvents(ctx, req.Msg.Account, now.Add(-30*24*time.Hour))
	if err != nil {
		return bot.Reply{}, err
	}
	asked := make([]*redis.BoolCmd, len(evs))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ev := range evs {
			asked[i] = p.SIsMember(ctx, keysFor(req.Msg.Account, ev.ID).asked(), req.Msg.OpenID)
		}
		return nil
	})
	if err != nil {
		return bot.Reply{}, fmt.Errorf("find feedback event: %w", err)
	}
	var best *content.Event
	for i := range evs {
		if asked[i].Val() && (best == nil || evs[i].EndsAt.After(best.EndsAt)) {
			best = &evs[i]
		}
	}
	if best == nil {
		return bot.Text(txtFeedbackNo), nil
	}
	if err := s.rdb.HSet(ctx, keysFor(req.Msg.Account, best.ID).feedback(), req.Msg.OpenID, answer).Err(); err != nil {
		return bot.Reply{}, fmt.Errorf("record feedback: %w", err)
	}
	return bot.Text(txtFeedbackThx), nil
}

// CheckIn handles a scan of an event's check-in code (scene.Event set),
// from a follower (SCAN) or a newcomer (subscribe): it records attendance
// once, profiles a subscriber who has no town or group from the event's
// town and single-group audience, schedules the feedback question, and
// answers with a welcome. handled is false for a scene of no event (or of
// an event that no longer exists): the bot then treats it as usual.
func (s *Service) CheckIn(ctx context.Context, req *bot.Request, scene qrcode.Scene) (reply bot.Reply, handled bool, err error) {
	if scene.Event == "" {
		return bot.Reply{}, false, nil
	}
	ev, err := s.event(ctx, req.Msg.Account, scene.Event)
	if errors.Is(err, ErrNotFound) {
		return bot.Reply{}, false, nil
	}
	if err != nil {
		return bot.Reply{}, false, err
	}
	if p := req.Profile; p != nil {
		if p.Town == "" {
			p.Town = ev.Town
		}
		if g := s.singleGroup(ev.Audience); p.Group == "" && g != "" {
			p.Group = g
		}
		if p.Source == "" && scene.Source != "" {
			p.Source = scene.Source
		}
	}
	if _, err := s.Attend(ctx, req.Msg.Account, ev, req.Msg.OpenID, who(req.Profile)); err != nil {
		return bot.Reply{}, false, err
	}
	learn(req, ev, attendBoost)
	return bot.Text(fmt.Sprintf(txtCheckedIn, ev.Title)), true, nil
}

var groupRE = regexp.MustCompile(`^\s*group\s*[:：]\s*([^\s()|&!（）｜＆！]+)\s*$`)

// singleGroup returns the group id of an audience that is exactly one
// group ("group:farmer", "group:农民"), else "".
func (s *Service) singleGroup(audience string) string {
	m := groupRE.FindStringSubmatch(strings.ToLower(audience))
	if m == nil {
		return ""
	}
	if s.cfg.Tax == nil {
		return m[1]
	}
	if g, ok := s.cfg.Tax.Group(m[1]); ok {
		return g.ID
	}
	if g, ok := s.cfg.Tax.MatchGroup(m[1]); ok {
		return g.ID
	}
	return ""
}

// How much signing up for an event and attending it raise interest in
// the event's topics (of profile.WeightMax): a sign-up as much as a
// search, turning up as much as a click.
const (
	signupBoost = 20
	attendBoost = 40
)

// learn raises the subscriber's interest in ev's topics by boost, after
// the time decay; the webhook stores the profile with the reply.
func learn(req *bot.Request, ev content.Event, boost int) {
	if p := req.Profile; p != nil && len(ev.Topics) > 0 {
		p.DecayInterests(req.Now)
		p.CreditTopics(ev.Topics, boost)
	}
}
