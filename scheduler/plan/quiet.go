package plan

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// QuietHours is a daily stretch of local time during which pushes are held
// and released when it ends (KEPUBOT_QUIET_HOURS). It may cross midnight.
// The zero value is "off": never quiet.
type QuietHours struct {
	on         bool
	start, end int // minutes after local midnight; start != end when on
}

// DefaultQuietHours returns 21:30–07:30, the district's default.
func DefaultQuietHours() QuietHours { return QuietHours{on: true, start: 21*60 + 30, end: 7*60 + 30} }

// ParseQuietHours parses "HH:MM-HH:MM" (local time, start inclusive, end
// exclusive; "21:30-07:30" crosses midnight; "24:00" may end a range) or
// "off". Errors name what is wrong with s.
func ParseQuietHours(s string) (QuietHours, error) {
	v := strings.TrimSpace(s)
	if strings.EqualFold(v, "off") {
		return QuietHours{}, nil
	}
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		return QuietHours{}, fmt.Errorf("quiet hours %q: want HH:MM-HH:MM (e.g. 21:30-07:30) or off", s)
	}
	start, err := parseClock(a, false)
	if err != nil {
		return QuietHours{}, fmt.Errorf("quiet hours %q: start: %w", s, err)
	}
	end, err := parseClock(b, true)
	if err != nil {
		return QuietHours{}, fmt.Errorf("quiet hours %q: end: %w", s, err)
	}
	if start == end {
		return QuietHours{}, fmt.Errorf("quiet hours %q: start and end are equal; use off for none", s)
	}
	return QuietHours{on: true, start: start, end: end % (24 * 60)}, nil
}

// parseClock parses H:MM or HH:MM into minutes after midnight; 24:00 only
// when allowEnd.
func parseClock(s string, allowEnd bool) (int, error) {
	s = strings.TrimSpace(s)
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || hs[0] == '+' || ms[0] == '+' {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if m > 59 {
		return 0, fmt.Errorf("%q: minute %d is out of range 00-59", s, m)
	}
	if h == 24 && m == 0 && allowEnd {
		return 24 * 60, nil
	}
	if h > 23 {
		return 0, fmt.Errorf("%q: hour %d is out of range 00-23", s, h)
	}
	return h*60 + m, nil
}

// Off reports whether the quiet hours never hold anything.
func (q QuietHours) Off() bool { return !q.on }

// String returns the form ParseQuietHours accepts: "21:30-07:30" or "off".
func (q QuietHours) String() string {
	if !q.on {
		return "off"
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", q.start/60, q.start%60, q.end/60, q.end%60)
}

// Contains reports whether t falls in the quiet hours, read on the local
// clock in loc.
func (q QuietHours) Contains(t time.Time, loc *time.Location) bool {
	if !q.on {
		return false
	}
	lt := in(t, loc)
	h, m, _ := lt.Clock()
	min := h*60 + m
	if q.start < q.end {
		return q.start <= min && min < q.end
	}
	return min >= q.start || min < q.end
}

// NextOpen returns when pushes held at t are released: t itself outside the
// quiet hours, else the next instant the local clock in loc reads the end
// time.
func (q QuietHours) NextOpen(t time.Time, loc *time.Location) time.Time {
	if !q.Contains(t, loc) {
		return t
	}
	lt := in(t, loc)
	y, mo, d := lt.Date()
	open := time.Date(y, mo, d, q.end/60, q.end%60, 0, 0, lt.Location())
	if !open.After(lt) {
		open = time.Date(y, mo, d+1, q.end/60, q.end%60, 0, 0, lt.Location())
	}
	return open
}
