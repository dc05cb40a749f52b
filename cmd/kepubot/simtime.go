package main

import (
	"context"
	"sort"
	"time"

	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// The send-time run (--send-time): each resident has a hidden hour at
// which they look at their phone (simHours: early, at lunch, in the
// evening). They write to the bot at that hour, and read their pushes
// then: a push that came within the hour before is on top of the chat
// list and opened with the click model's chance; one that came earlier,
// or after they looked (read the next day), is buried under the day's
// other chats and opened with simOffHour times that chance. The arms are
// both personalized: personalized is sent at a fixed hour (simFixedHour),
// optimal with send_time "optimal", started as the quiet hours end
// (simOptimalStart), so each resident gets it at the best hour the bot
// learned from when they write and click.
var simHours = []int{8, 12, 12, 13, 19, 20, 20, 21}

const (
	simOffHour   = 0.4 // the chance of opening a buried push, relative to one on top
	simFixedHour = 12  // the fixed arm's hour: lunch, as common a reading hour in simHours as any

	// simOptimalStart is when the optimal arm's campaign starts on
	// Friday: as the default quiet hours (21:30–07:30) end.
	simOptimalStart = 7*time.Hour + 40*time.Minute
)

// timedWeek is week for a send-time run: the residents chat on Monday and
// Thursday at their hour; on Friday the optimal arm's campaign starts at
// 07:40, the fixed arm's at 12:00, and the clock steps through the day's
// hours; each resident reads at their hour, and what came after they
// looked they read on Saturday at their hour, buried.
func (s *simEnv) timedWeek(ctx context.Context, w int) (simWeek, error) {
	byHour := append([]*simResident(nil), s.residents...)
	sort.SliceStable(byHour, func(i, j int) bool { return byHour[i].hour < byHour[j].hour })
	for _, day := range []int{0, 3} {
		for _, r := range byHour {
			at := time.Date(2027, 5, 17+7*w+day, r.hour, 0, 0, 0, s.loc)
			if s.clock.Now().Before(at) {
				s.clock.Set(at)
			}
			s.clock.Set(s.clock.Now().Add(5 * time.Second))
			if err := s.chat(ctx, r); err != nil {
				return simWeek{}, err
			}
		}
	}
	friday := time.Date(2027, 5, 17+7*w+4, 0, 0, 0, 0, s.loc)
	s.clock.Set(friday.Add(simOptimalStart))
	opt, err := simCreate(ctx, s.app, []campaign.Draft{{Name: "sim-optimal", Audience: "source:sim-optimal",
		Mode: campaign.ModePersonalized, SendTime: campaign.SendOptimal}})
	if err != nil {
		return simWeek{}, err
	}
	fixed, err := simCreate(ctx, s.app, []campaign.Draft{{Name: "sim-personalized", Audience: "source:sim-personalized",
		Mode: campaign.ModePersonalized}})
	if err != nil {
		return simWeek{}, err
	}
	if err := s.startAll(ctx, opt); err != nil {
		return simWeek{}, err
	}
	wk := newSimWeek()
	if err := s.idle(ctx); err != nil {
		return simWeek{}, err
	}
	for h := 8; h <= 21; h++ {
		look := friday.Add(time.Duration(h) * time.Hour)
		s.clock.Set(look)
		if h == simFixedHour {
			if err := s.startAll(ctx, fixed); err != nil {
				return simWeek{}, err
			}
		}
		if err := s.idle(ctx); err != nil {
			return simWeek{}, err
		}
		for _, r := range byHour {
			if r.hour != h {
				continue
			}
			s.clock.Set(s.clock.Now().Add(5 * time.Second))
			msgs := s.wx.Delivered(s.acct.AppID, r.openID)
			for i := r.seen; i < len(msgs); i++ {
				timing := simOffHour
				if !msgs[i].Time.Before(look.Add(-time.Hour)) {
					timing = 1 // it came within the hour before they look
				}
				if err := s.read(ctx, r, msgs[i], timing, &wk); err != nil {
					return simWeek{}, err
				}
			}
			r.seen = len(msgs)
		}
	}
	for _, c := range append(opt, fixed...) {
		if _, err := waitCampaign(ctx, s.app, c, 2*time.Minute); err != nil {
			return simWeek{}, err
		}
	}
	saturday := friday.AddDate(0, 0, 1)
	for _, r := range byHour { // what came after they looked: Saturday, buried
		msgs := s.wx.Delivered(s.acct.AppID, r.openID)
		if r.seen == len(msgs) {
			continue
		}
		if at := saturday.Add(time.Duration(r.hour) * time.Hour); s.clock.Now().Before(at) {
			s.clock.Set(at)
		}
		s.clock.Set(s.clock.Now().Add(5 * time.Second))
		for _, m := range msgs[r.seen:] {
			if err := s.read(ctx, r, m, simOffHour, &wk); err != nil {
				return simWeek{}, err
			}
		}
		r.seen = len(msgs)
	}
	return wk, s.count(ctx, append(opt, fixed...), &wk)
}
