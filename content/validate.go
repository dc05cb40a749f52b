package content

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Vocabulary says which group, town and topic ids exist. The taxonomy is
// the real one; the content package does not import it (the taxonomy
// reads configs, whose tests read content), so callers adapt it.
type Vocabulary interface {
	ValidGroup(id string) bool
	ValidTown(id string) bool
	ValidTopic(id string) bool
}

// Limits of what a record may hold. A summary must fit a customer-service
// text next to a link, a title a news card.
const (
	MaxTitle       = 64
	MaxSummary     = 200
	MaxShort       = 80
	MaxStem        = 200
	MinOptions     = 2
	MaxOptions     = 6
	MinTimeLimit   = 5
	MaxTimeLimit   = 600
	MaxPriority    = 100
	MinDifficulty  = 1
	MaxDifficulty  = 5
	maxReminderDur = 90 * 24 * time.Hour
)

// codePattern is what a resident types to join a competition or sign up
// for an event.
var codePattern = regexp.MustCompile(`^[A-Za-z0-9]{2,16}$`)

// ValidCode reports whether code is a well-formed sign-up or join code.
func ValidCode(code string) bool { return codePattern.MatchString(code) }

// solarTerms are the 24 节气, in calendar order from 小寒.
var solarTerms = []string{
	"小寒", "大寒", "立春", "雨水", "惊蛰", "春分", "清明", "谷雨", "立夏", "小满", "芒种", "夏至",
	"小暑", "大暑", "立秋", "处暑", "白露", "秋分", "寒露", "霜降", "立冬", "小雪", "大雪", "冬至",
}

// ValidationError carries per-field messages (keys are JSON field names).
// The admin API answers it with 400 and the fields; the importer reports
// each with its file and line.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// Invalid returns fields as a *ValidationError, or nil when it is empty.
func Invalid(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: fields}
}

// problems collects per-field messages, keeping the first for a field.
type problems map[string]string

func (p problems) add(field, format string, args ...any) {
	if _, ok := p[field]; !ok {
		p[field] = fmt.Sprintf(format, args...)
	}
}

func (p problems) text(field, v string, required bool, max int) {
	n := utf8.RuneCountInString(strings.TrimSpace(v))
	switch {
	case n == 0 && required:
		p.add(field, "required")
	case n > max:
		p.add(field, "at most %d characters, got %d", max, n)
	}
}

func (p problems) link(field, v string, required bool) {
	if v == "" {
		if required {
			p.add(field, "required")
		}
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(field, "must be an absolute http(s) URL")
	}
}

func (p problems) ids(field string, ids []string, valid func(string) bool, kind string) {
	for i, id := range ids {
		switch {
		case !valid(id):
			p.add(field, "unknown %s %q", kind, id)
		case slices.Index(ids, id) != i:
			p.add(field, "%s %q listed twice", kind, id)
		}
	}
}

func (p problems) audience(a Audience, v Vocabulary) {
	p.ids("groups", a.Groups, v.ValidGroup, "group")
	p.ids("towns", a.Towns, v.ValidTown, "town")
	p.ids("topics", a.Topics, v.ValidTopic, "topic")
}

func (p problems) window(fromField string, from time.Time, toField string, to time.Time) {
	if from.IsZero() {
		p.add(fromField, "required (RFC 3339)")
	}
	if to.IsZero() {
		p.add(toField, "required (RFC 3339)")
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		p.add(toField, "must be after %s", fromField)
	}
}

func (p problems) code(code string) {
	if code != "" && !ValidCode(code) {
		p.add("code", "2–16 letters or digits")
	}
}

// Validate checks an item before it is stored. It returns field → message;
// an empty map means the item is valid.
func (it *Item) Validate(v Vocabulary) map[string]string {
	p := problems{}
	p.text("title", it.Title, true, MaxTitle)
	p.text("summary", it.Summary, true, MaxSummary)
	p.text("short", it.Short, false, MaxShort)
	p.link("url", it.URL, true)
	p.link("cover_url", it.CoverURL, false)
	p.audience(it.Audience, v)
	for _, m := range it.Season.Months {
		if m < 1 || m > 12 {
			p.add("season.months", "months are 1–12, got %d", m)
		}
	}
	for _, st := range it.Season.SolarTerms {
		if !slices.Contains(solarTerms, st) {
			p.add("season.solar_terms", "unknown solar term %q", st)
		}
	}
	if !it.ValidFrom.IsZero() && !it.ValidUntil.IsZero() && !it.ValidUntil.After(it.ValidFrom) {
		p.add("valid_until", "must be after valid_from")
	}
	if it.Priority < 0 || it.Priority > MaxPriority {
		p.add("priority", "must be 0–%d", MaxPriority)
	}
	p.text("source", it.Source, true, MaxTitle)
	return p
}

// Validate checks a question. It returns field → message; an empty map
// means the question is valid.
func (q *Question) Validate(v Vocabulary) map[string]string {
	p := problems{}
	p.text("stem", q.Stem, true, MaxStem)
	if n := len(q.Options); n < MinOptions || n > MaxOptions {
		p.add("options", "%d–%d options, got %d", MinOptions, MaxOptions, n)
	}
	for i, o := range q.Options {
		switch {
		case strings.TrimSpace(o) == "":
			p.add("options", "option %d is empty", i)
		case slices.Index(q.Options, o) != i:
			p.add("options", "option %q listed twice", o)
		}
	}
	if len(q.Answer) == 0 {
		p.add("answer", "at least one correct option")
	}
	for i, a := range q.Answer {
		switch {
		case a < 0 || a >= len(q.Options):
			p.add("answer", "index %d out of range 0–%d", a, len(q.Options)-1)
		case slices.Index(q.Answer, a) != i:
			p.add("answer", "index %d listed twice", a)
		}
	}
	if q.Topic == "" {
		p.add("topic", "required")
	} else if !v.ValidTopic(q.Topic) {
		p.add("topic", "unknown topic %q", q.Topic)
	}
	if q.Difficulty < MinDifficulty || q.Difficulty > MaxDifficulty {
		p.add("difficulty", "must be %d–%d", MinDifficulty, MaxDifficulty)
	}
	p.audience(q.Audience, v)
	return p
}

// Questions is how many questions an attempt at c asks.
func (c *Competition) Questions() int {
	if len(c.QuestionIDs) > 0 {
		return len(c.QuestionIDs)
	}
	return c.QuestionCount
}

// Validate checks a competition (an empty code is allowed: the store
// generates one). It does not check that question_ids exist; the store
// does. It returns field → message; an empty map means it is valid.
func (c *Competition) Validate(v Vocabulary) map[string]string {
	p := problems{}
	p.text("title", c.Title, true, MaxTitle)
	p.window("starts_at", c.StartsAt, "ends_at", c.EndsAt)
	p.code(c.Code)
	switch {
	case len(c.QuestionIDs) > 0 && c.QuestionCount != 0 && c.QuestionCount != len(c.QuestionIDs):
		p.add("question_count", "is %d but %d question_ids are given", c.QuestionCount, len(c.QuestionIDs))
	case c.Questions() < 1:
		p.add("question_count", "give question_ids or a question_count of at least 1")
	}
	for i, id := range c.QuestionIDs {
		if slices.Index(c.QuestionIDs, id) != i {
			p.add("question_ids", "%q listed twice", id)
		}
	}
	if c.TimeLimitSeconds < MinTimeLimit || c.TimeLimitSeconds > MaxTimeLimit {
		p.add("time_limit_seconds", "must be %d–%d", MinTimeLimit, MaxTimeLimit)
	}
	if c.PassMark < 0 || (c.Questions() > 0 && c.PassMark > c.Questions()) {
		p.add("pass_mark", "must be 0–%d (the number of questions)", c.Questions())
	}
	if c.Attempts < 1 {
		p.add("attempts", "at least 1")
	}
	return p
}

// ReminderOffsets parses the event's reminder offsets.
func (e *Event) ReminderOffsets() ([]time.Duration, error) {
	ds := make([]time.Duration, 0, len(e.Reminders))
	for _, r := range e.Reminders {
		d, err := time.ParseDuration(r)
		if err != nil {
			return nil, fmt.Errorf("reminder %q: %w", r, err)
		}
		if d <= 0 || d > maxReminderDur {
			return nil, fmt.Errorf("reminder %q: must be between 0 and %v before the start", r, maxReminderDur)
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// Validate checks an event (an empty code is allowed: the store generates
// one). It returns field → message; an empty map means it is valid.
func (e *Event) Validate(v Vocabulary) map[string]string {
	p := problems{}
	p.text("title", e.Title, true, MaxTitle)
	p.window("starts_at", e.StartsAt, "ends_at", e.EndsAt)
	if e.Town == "" {
		p.add("town", "required")
	} else if !v.ValidTown(e.Town) {
		p.add("town", "unknown town %q", e.Town)
	}
	p.ids("topics", e.Topics, v.ValidTopic, "topic")
	if e.Capacity < 1 {
		p.add("capacity", "at least 1")
	}
	p.code(e.Code)
	if _, err := e.ReminderOffsets(); err != nil {
		p.add("reminders", "%v", err)
	}
	if !e.SignupOpens.IsZero() && !e.SignupCloses.IsZero() && !e.SignupCloses.After(e.SignupOpens) {
		p.add("signup_closes", "must be after signup_opens")
	}
	if !e.SignupOpens.IsZero() && !e.StartsAt.IsZero() && !e.SignupOpens.Before(e.StartsAt) {
		p.add("signup_opens", "must be before starts_at")
	}
	if !e.SignupCloses.IsZero() && !e.EndsAt.IsZero() && e.SignupCloses.After(e.EndsAt) {
		p.add("signup_closes", "must not be after ends_at")
	}
	return p
}
