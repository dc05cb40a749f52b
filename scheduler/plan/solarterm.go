package plan

import (
	"math"
	"time"
)

// solarTerm is one of the 24 solar terms (节气) with its month and the
// 21st-century constant C of the common "寿星" formula: in year 2000+Y the
// term falls on day floor(Y*0.2422 + C) - L of its month, where L counts
// the leap days since 2000 (floor(Y/4), or floor((Y-1)/4) for the terms in
// January and February). C alone is the term's approximate day of month.
type solarTerm struct {
	name  string
	month time.Month
	c     float64
}

// solarTerms lists the terms in calendar order, 小寒 first.
var solarTerms = [24]solarTerm{
	{"小寒", time.January, 5.4055}, {"大寒", time.January, 20.12},
	{"立春", time.February, 3.87}, {"雨水", time.February, 18.73},
	{"惊蛰", time.March, 5.63}, {"春分", time.March, 20.646},
	{"清明", time.April, 4.81}, {"谷雨", time.April, 20.1},
	{"立夏", time.May, 5.52}, {"小满", time.May, 21.04},
	{"芒种", time.June, 5.678}, {"夏至", time.June, 21.37},
	{"小暑", time.July, 7.108}, {"大暑", time.July, 22.83},
	{"立秋", time.August, 7.5}, {"处暑", time.August, 23.13},
	{"白露", time.September, 7.646}, {"秋分", time.September, 23.042},
	{"寒露", time.October, 8.318}, {"霜降", time.October, 23.438},
	{"立冬", time.November, 7.438}, {"小雪", time.November, 22.36},
	{"大雪", time.December, 7.18}, {"冬至", time.December, 21.94},
}

// solarTermFix corrects the formula in the years it is known to be a day
// off, keyed by term name and year.
var solarTermFix = map[struct {
	name string
	year int
}]int{
	{"小寒", 2019}: -1, {"大寒", 2082}: 1, {"雨水", 2026}: -1, {"春分", 2084}: 1,
	{"小满", 2008}: 1, {"小暑", 2016}: 1, {"立秋", 2002}: 1, {"霜降", 2089}: 1,
	{"立冬", 2089}: 1, {"冬至", 2021}: -1,
}

// solarTermIndex maps a term's name to its place in solarTerms.
var solarTermIndex = func() map[string]int {
	m := make(map[string]int, len(solarTerms))
	for i, t := range solarTerms {
		m[t.name] = i
	}
	return m
}()

// SolarTermDate returns the civil date (midnight UTC; read it with Date) on
// which the solar term name (e.g. "清明") falls in year, in China Standard
// Time. For 2000–2100 it is the formula's date, exact for these years as
// far as the corrections go; for other years the term's usual day (±2
// days). It returns false for a name that is not one of the 24 terms.
func SolarTermDate(name string, year int) (time.Time, bool) {
	i, ok := solarTermIndex[name]
	if !ok {
		return time.Time{}, false
	}
	return time.Date(year, solarTerms[i].month, solarTermDay(i, year), 0, 0, 0, 0, time.UTC), true
}

func solarTermDay(i, year int) int {
	t := solarTerms[i]
	if year < 2000 || year > 2100 {
		return int(math.Round(t.c))
	}
	y := year - 2000
	leap := floorDiv(y, 4)
	if t.month <= time.February {
		leap = floorDiv(y-1, 4)
	}
	return int(math.Floor(float64(y)*0.2422+t.c)) - leap + solarTermFix[struct {
		name string
		year int
	}{t.name, year}]
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// nearSolarTerm reports whether the calendar day (a DayNumber in the
// district) lies within SolarTermSpan days of the term name in the
// surrounding years. Unknown names are never near.
func nearSolarTerm(name string, day, year int) bool {
	for y := year - 1; y <= year+1; y++ {
		d, ok := SolarTermDate(name, y)
		if !ok {
			return false
		}
		if n := civilDay(d) - epochDay - day; -SolarTermSpan <= n && n <= SolarTermSpan {
			return true
		}
	}
	return false
}
