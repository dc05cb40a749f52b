package plan

import (
	"testing"
	"time"
)

func TestCapsAllow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		caps        Caps
		today, week int
		want        bool
	}{
		{Caps{PerDay: 1, PerWeek: 3}, 0, 0, true},
		{Caps{PerDay: 1, PerWeek: 3}, 1, 1, false},
		{Caps{PerDay: 1, PerWeek: 3}, 0, 2, true},
		{Caps{PerDay: 1, PerWeek: 3}, 0, 3, false},
		{Caps{PerDay: 2}, 1, 100, true},
		{Caps{PerDay: 2}, 2, 2, false},
		{Caps{PerWeek: 5}, 9, 4, true},
		{Caps{}, 1000, 1000, true},
	}
	for _, tt := range tests {
		if got := tt.caps.Allow(tt.today, tt.week); got != tt.want {
			t.Errorf("%+v.Allow(%d, %d) = %v, want %v", tt.caps, tt.today, tt.week, got, tt.want)
		}
	}
}

func TestDayAndWeekNumber(t *testing.T) {
	t.Parallel()
	loc := shanghai(t)
	tests := []struct {
		t         time.Time
		day, week int
	}{
		{time.Date(2000, 1, 1, 0, 0, 0, 0, loc), 0, 0},
		{time.Date(2000, 1, 3, 0, 0, 0, 0, loc), 2, 0},   // first Monday
		{time.Date(2000, 1, 9, 23, 59, 0, 0, loc), 8, 0}, // its Sunday
		{time.Date(2000, 1, 10, 0, 0, 0, 0, loc), 9, 1},
		// 2026-03-01 16:30 UTC is 2026-03-02 00:30 (Monday) in Shanghai.
		{time.Date(2026, 3, 1, 16, 30, 0, 0, time.UTC), 9557, 1365},
		{time.Date(2026, 3, 1, 15, 59, 0, 0, time.UTC), 9556, 1364},
	}
	for _, tt := range tests {
		if got := DayNumber(tt.t, loc); got != tt.day {
			t.Errorf("DayNumber(%v) = %d, want %d", tt.t, got, tt.day)
		}
		if got := WeekNumber(tt.t, loc); got != tt.week {
			t.Errorf("WeekNumber(%v) = %d, want %d", tt.t, got, tt.week)
		}
	}
	// Same week number exactly when ISO week matches, over three years.
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, loc)
	for d := range 3 * 366 {
		a := start.AddDate(0, 0, d)
		b := a.AddDate(0, 0, 1)
		ay, aw := a.ISOWeek()
		by, bw := b.ISOWeek()
		same := ay == by && aw == bw
		if got := WeekNumber(a, loc) == WeekNumber(b, loc); got != same {
			t.Fatalf("WeekNumber(%v) == WeekNumber(%v) is %v, ISO weeks say %v", a, b, got, same)
		}
	}
}
