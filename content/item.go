// Package content is kepubot's library of reviewed science content: items
// (articles and tips), quiz questions and competitions, and events, with the
// review workflow that keeps published content scientifically sound.
//
// Storage lives in store*.go (Redis); the targeting and scoring logic that
// picks items for a subscriber is pure and lives beside the types.
package content

import "time"

// Status is where an item stands in the review workflow:
// draft → in_review → approved → published → retired (a rejection sends an
// in_review item back to draft).
type Status string

// Review workflow states.
const (
	StatusDraft     Status = "draft"
	StatusInReview  Status = "in_review"
	StatusApproved  Status = "approved"
	StatusPublished Status = "published"
	StatusRetired   Status = "retired"
)

// Audience says whom content is for. An empty list means everyone.
type Audience struct {
	Groups []string `json:"groups" yaml:"groups"`
	Towns  []string `json:"towns" yaml:"towns"`
	Topics []string `json:"topics" yaml:"topics"`
}

// Season says when content is timely: months (1–12) or solar terms (节气,
// e.g. "清明"). Empty means all year.
type Season struct {
	Months     []int    `json:"months,omitempty" yaml:"months,omitempty"`
	SolarTerms []string `json:"solar_terms,omitempty" yaml:"solar_terms,omitempty"`
}

// NewsCard is the rendering of an item as a WeChat news card.
type NewsCard struct {
	Title       string `json:"title" yaml:"title"`
	Description string `json:"description" yaml:"description"`
	URL         string `json:"url" yaml:"url"`
	PicURL      string `json:"picurl,omitempty" yaml:"picurl,omitempty"`
}

// Item is one piece of science content.
type Item struct {
	ID         string `json:"id" yaml:"-"`
	ExternalID string `json:"external_id,omitempty" yaml:"external_id"` // import key: re-import updates
	Version    int    `json:"version" yaml:"-"`

	Title    string `json:"title" yaml:"title"`
	Summary  string `json:"summary" yaml:"summary"`       // short enough for a customer-service text
	Short    string `json:"short,omitempty" yaml:"short"` // elderly-friendly short version
	Body     string `json:"body,omitempty" yaml:"body"`
	URL      string `json:"url" yaml:"url"`
	CoverURL string `json:"cover_url,omitempty" yaml:"cover_url"`

	Audience `yaml:",inline"`
	Season   Season `json:"season" yaml:"season"`

	ValidFrom  time.Time `json:"valid_from,omitempty" yaml:"valid_from"`
	ValidUntil time.Time `json:"valid_until,omitempty" yaml:"valid_until"`
	Priority   int       `json:"priority" yaml:"priority"` // 0–100, higher first

	Source   string `json:"source" yaml:"source"`               // who published the facts
	Citation string `json:"citation,omitempty" yaml:"citation"` // where to check them
	Author   string `json:"author,omitempty" yaml:"author"`

	Status    Status    `json:"status" yaml:"-"`
	CreatedAt time.Time `json:"created_at" yaml:"-"`
	UpdatedAt time.Time `json:"updated_at" yaml:"-"`
	CreatedBy string    `json:"created_by,omitempty" yaml:"-"` // admin user id (or "import") who created the item
	UpdatedBy string    `json:"updated_by,omitempty" yaml:"-"` // who wrote the current version
}
