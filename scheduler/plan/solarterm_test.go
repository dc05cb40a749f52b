package plan

import (
	"testing"
	"time"
)

func TestSolarTermDate(t *testing.T) {
	t.Parallel()
	// Dates published by the Purple Mountain Observatory (China Standard Time).
	tests := []struct {
		name string
		year int
		want string
	}{
		{"立春", 2024, "2024-02-04"},
		{"立春", 2025, "2025-02-03"},
		{"清明", 2024, "2024-04-04"},
		{"清明", 2025, "2025-04-04"},
		{"夏至", 2023, "2023-06-21"},
		{"夏至", 2024, "2024-06-21"},
		{"冬至", 2021, "2021-12-21"},
		{"冬至", 2024, "2024-12-21"},
		{"冬至", 2025, "2025-12-21"},
		{"雨水", 2026, "2026-02-18"},
		{"小寒", 2019, "2019-01-05"},
		{"立秋", 2024, "2024-08-07"},
		{"大暑", 2025, "2025-07-22"},
		{"春分", 2026, "2026-03-20"},
	}
	for _, tt := range tests {
		got, ok := SolarTermDate(tt.name, tt.year)
		if !ok || got.Format(time.DateOnly) != tt.want {
			t.Errorf("SolarTermDate(%s, %d) = %s, %v, want %s", tt.name, tt.year, got.Format(time.DateOnly), ok, tt.want)
		}
	}
	if _, ok := SolarTermDate("春节", 2026); ok {
		t.Errorf("SolarTermDate(春节, 2026) ok, want false: not a solar term")
	}
	// Every term in every supported year falls near its usual day and in
	// calendar order.
	for year := 2000; year <= 2100; year++ {
		prev := time.Time{}
		for _, st := range solarTerms {
			d, _ := SolarTermDate(st.name, year)
			if diff := float64(d.Day()) - st.c; diff < -2 || diff > 2 {
				t.Errorf("SolarTermDate(%s, %d) = %s, far from day %.1f", st.name, year, d.Format(time.DateOnly), st.c)
			}
			if !d.After(prev) {
				t.Errorf("SolarTermDate(%s, %d) = %s, not after the previous term", st.name, year, d.Format(time.DateOnly))
			}
			prev = d
		}
	}
}

func TestNearSolarTerm(t *testing.T) {
	t.Parallel()
	loc := shanghai(t)
	day := func(y int, m time.Month, d int) (int, int) {
		t := time.Date(y, m, d, 12, 0, 0, 0, loc)
		return DayNumber(t, loc), y
	}
	tests := []struct {
		name string
		y    int
		m    time.Month
		d    int
		want bool
	}{
		{"清明", 2025, time.April, 4, true},
		{"清明", 2025, time.April, 11, true},
		{"清明", 2025, time.April, 12, false},
		{"清明", 2025, time.March, 28, true},
		{"清明", 2025, time.March, 27, false},
		{"小寒", 2025, time.December, 30, true}, // 2026-01-05
		{"冬至", 2025, time.December, 28, true},
		{"冬至", 2026, time.January, 2, false}, // 12 days after 2025-12-21
		{"不存在", 2026, time.January, 10, false},
	}
	for _, tt := range tests {
		dn, y := day(tt.y, tt.m, tt.d)
		if got := nearSolarTerm(tt.name, dn, y); got != tt.want {
			t.Errorf("nearSolarTerm(%s, %d-%02d-%02d) = %v, want %v", tt.name, tt.y, tt.m, tt.d, got, tt.want)
		}
	}
}
