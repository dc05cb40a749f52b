package plan

// Caps bounds how many pushes a subscriber gets: at most PerDay in a
// calendar day and PerWeek in an ISO week, both in the district's time zone
// (key the counters with DayNumber and WeekNumber). A cap of 0 or less
// means no cap.
type Caps struct {
	PerDay  int
	PerWeek int
}

// Allow reports whether one more push fits, given the pushes already sent
// today and this week.
func (c Caps) Allow(sentToday, sentThisWeek int) bool {
	if c.PerDay > 0 && sentToday >= c.PerDay {
		return false
	}
	if c.PerWeek > 0 && sentThisWeek >= c.PerWeek {
		return false
	}
	return true
}
