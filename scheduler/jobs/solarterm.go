package jobs

import (
	"time"

	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// SolarTermOn returns the solar term that falls on t's calendar day in loc,
// if any.
func SolarTermOn(t time.Time, loc *time.Location) (string, bool) {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	for _, name := range SolarTerms {
		td, ok := plan.SolarTermDate(name, y)
		if !ok {
			continue
		}
		if ty, tm, tdd := td.Date(); ty == y && tm == m && tdd == d {
			return name, true
		}
	}
	return "", false
}
