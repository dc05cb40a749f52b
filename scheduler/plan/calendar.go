package plan

import "time"

// Calendar numbers key per-subscriber counters (mass budget, frequency
// caps) by the district's calendar. They count from 2000-01-01 in loc and
// are 0 for instants before it.

// epochDay is 2000-01-01 as days since 1970-01-01.
const epochDay = 10957

// MonthNumber returns the number of calendar months from 2000-01 to the
// month containing t in loc: 2000-01 is 0, 2026-03 is 314. It is the unit
// of profile.Profile.MassMonth.
func MonthNumber(t time.Time, loc *time.Location) uint16 {
	y, m, _ := in(t, loc).Date()
	n := (y-2000)*12 + int(m) - 1
	if n < 0 {
		return 0
	}
	return uint16(n)
}

// DayNumber returns the number of calendar days from 2000-01-01 to the day
// containing t in loc.
func DayNumber(t time.Time, loc *time.Location) int {
	n := civilDay(in(t, loc)) - epochDay
	if n < 0 {
		return 0
	}
	return n
}

// WeekNumber returns the number of ISO weeks (Monday to Sunday) from the
// week of 2000-01-03 to the week containing t in loc: two instants share a
// number exactly when they fall in the same ISO week in loc. Instants
// before 2000-01-03 count as week 0.
func WeekNumber(t time.Time, loc *time.Location) int {
	// 2000-01-03 was a Monday, day 2 of DayNumber.
	n := civilDay(in(t, loc)) - epochDay - 2
	if n < 0 {
		return 0
	}
	return n / 7
}

// civilDay returns the days since 1970-01-01 of t's calendar date in t's
// own location.
func civilDay(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func in(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc)
}
