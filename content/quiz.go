package content

import "time"

// Question is one quiz question from the question bank.
type Question struct {
	ID          string   `json:"id" yaml:"-"`
	ExternalID  string   `json:"external_id,omitempty" yaml:"external_id"`
	Stem        string   `json:"stem" yaml:"stem"`
	Options     []string `json:"options" yaml:"options"` // 2–6 options, shown as A, B, C, ...
	Answer      []int    `json:"answer" yaml:"answer"`   // 0-based indexes; more than one = multiple choice
	Explanation string   `json:"explanation" yaml:"explanation"`
	Topic       string   `json:"topic" yaml:"topic"`
	Difficulty  int      `json:"difficulty" yaml:"difficulty"` // 1 (easy) – 5 (hard)
	Audience    `yaml:",inline"`
	Source      string    `json:"source,omitempty" yaml:"source"`
	CreatedAt   time.Time `json:"created_at" yaml:"-"`
}

// Multiple reports whether more than one option is correct.
func (q *Question) Multiple() bool { return len(q.Answer) > 1 }

// Competition is a quiz competition run inside the chat.
type Competition struct {
	ID               string    `json:"id" yaml:"-"`
	ExternalID       string    `json:"external_id,omitempty" yaml:"external_id"`
	Code             string    `json:"code" yaml:"code"` // what a user types to join, e.g. "KX2027"
	Title            string    `json:"title" yaml:"title"`
	Description      string    `json:"description,omitempty" yaml:"description"`
	StartsAt         time.Time `json:"starts_at" yaml:"starts_at"`
	EndsAt           time.Time `json:"ends_at" yaml:"ends_at"`
	Audience         string    `json:"audience" yaml:"audience"` // segment expression; empty = everyone
	QuestionIDs      []string  `json:"question_ids,omitempty" yaml:"question_ids"`
	QuestionCount    int       `json:"question_count,omitempty" yaml:"question_count"`
	TimeLimitSeconds int       `json:"time_limit_seconds" yaml:"time_limit_seconds"` // per question
	PassMark         int       `json:"pass_mark" yaml:"pass_mark"`                   // correct answers needed
	Attempts         int       `json:"attempts" yaml:"attempts"`                     // per subscriber
	Status           Status    `json:"status" yaml:"-"`                              // draft or published
	CreatedAt        time.Time `json:"created_at" yaml:"-"`
}

// Event is an event residents can sign up for in the chat.
type Event struct {
	ID           string    `json:"id" yaml:"-"`
	ExternalID   string    `json:"external_id,omitempty" yaml:"external_id"`
	Code         string    `json:"code" yaml:"code"` // sign-up code: 报名 <code>
	Title        string    `json:"title" yaml:"title"`
	Description  string    `json:"description" yaml:"description"`
	StartsAt     time.Time `json:"starts_at" yaml:"starts_at"`
	EndsAt       time.Time `json:"ends_at" yaml:"ends_at"`
	Venue        string    `json:"venue" yaml:"venue"`
	Town         string    `json:"town" yaml:"town"`
	Audience     string    `json:"audience" yaml:"audience"` // segment expression; empty = everyone
	Capacity     int       `json:"capacity" yaml:"capacity"`
	SignupOpens  time.Time `json:"signup_opens,omitempty" yaml:"signup_opens"`
	SignupCloses time.Time `json:"signup_closes,omitempty" yaml:"signup_closes"`
	Reminders    []string  `json:"reminders" yaml:"reminders"` // offsets before the start, e.g. "24h", "1h"
	Status       Status    `json:"status" yaml:"-"`
	CreatedAt    time.Time `json:"created_at" yaml:"-"`
	// Topics are what the event is about (taxonomy ids; optional): signing
	// up and attending raise the subscriber's interest in them.
	Topics []string `json:"topics,omitempty" yaml:"topics"`
}
