package campaign

import (
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// Send-time optimisation. A campaign with SendTime SendOptimal sends each
// recipient at their best hour (profile Reading.BestHour, learned from
// the times they write to the bot and open links) on the campaign's day
// — the local date it started — when that hour is still to come and
// outside the quiet hours; everyone else (no best hour known, an hour
// already past or in the quiet hours) at the start, as any campaign.
//
// A chunk sends its due recipients and leaves the others pending; its
// job then waits (queue.At, no attempt counted) until the earliest of
// their hours and runs again (an absolute time, so a clock that moved on
// while the chunk decided does not shift the wake-up): the outcome bits skip whoever is done, so
// no second copy of the sending path exists and a crash in between loses
// or doubles nothing. Urgent campaigns never wait.

// SendOptimal is SendTime's value for "each recipient at their best
// hour".
const SendOptimal = "optimal"

// dueAt is when member p of c should be sent to: now, or later today at
// their best hour.
func (e *Engine) dueAt(c *Campaign, p *profile.Profile, now time.Time) time.Time {
	if c.SendTime != SendOptimal || c.Urgent {
		return now
	}
	h, ok := p.Reading.BestHour(e.cfg.Loc)
	if !ok {
		return now
	}
	day := now
	if c.StartedAt != nil {
		day = *c.StartedAt
	}
	day = day.In(e.cfg.Loc)
	at := time.Date(day.Year(), day.Month(), day.Day(), h, 0, 0, 0, e.cfg.Loc)
	if !at.After(now) || e.cfg.Quiet.Contains(at, e.cfg.Loc) {
		return now
	}
	return at
}
