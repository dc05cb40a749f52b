package content

import "time"

// Deliverable reports whether it may be delivered at time at: only a
// published item inside its validity window ever reaches a subscriber.
// Seasons are a targeting preference, not a rule, so they are not checked.
func (it *Item) Deliverable(at time.Time) bool {
	return it.Status == StatusPublished &&
		(it.ValidFrom.IsZero() || !at.Before(it.ValidFrom)) &&
		(it.ValidUntil.IsZero() || at.Before(it.ValidUntil))
}

// Matches reports whether the audience includes a subscriber of group and
// town interested in any of topics. An empty list in the audience means
// everyone on that dimension; an empty argument asks about nobody in
// particular and matches.
func (a Audience) Matches(group, town string, topics []string) bool {
	if group != "" && len(a.Groups) > 0 && !contains(a.Groups, group) {
		return false
	}
	if town != "" && len(a.Towns) > 0 && !contains(a.Towns, town) {
		return false
	}
	if len(topics) == 0 || len(a.Topics) == 0 {
		return true
	}
	for _, t := range topics {
		if contains(a.Topics, t) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
