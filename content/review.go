package content

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors the review workflow and the store return; the admin API maps
// them to statuses (not found → 404, bad transition → 409, self-approval
// → 403, missing reason → 400).
var (
	ErrNotFound       = errors.New("not found")
	ErrBadTransition  = errors.New("transition not allowed from this status")
	ErrSelfApproval   = errors.New("nobody may approve their own item")
	ErrReasonRequired = errors.New("a reason is required")
	ErrCodeTaken      = errors.New("code already in use")
	ErrConflict       = errors.New("too many concurrent changes, try again")
)

// Action is a step of the review workflow, or an edit recorded beside them.
type Action string

// Review actions. Create, Edit and Import are recorded in the history but
// are not transitions a reviewer takes.
const (
	ActionSubmit  Action = "submit"
	ActionApprove Action = "approve"
	ActionReject  Action = "reject"
	ActionPublish Action = "publish"
	ActionRetire  Action = "retire"

	ActionCreate Action = "create"
	ActionEdit   Action = "edit"
)

// Transition is one entry of an item's history: who did what, when, why,
// to which version.
type Transition struct {
	Action  Action    `json:"action"`
	From    Status    `json:"from,omitempty"`
	To      Status    `json:"to"`
	Version int       `json:"version"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason,omitempty"`
}

// rules says, for each review action, the status it starts from, the one
// it leads to, and whether it needs a reason.
var rules = map[Action]struct {
	from, to Status
	reason   bool
}{
	ActionSubmit:  {StatusDraft, StatusInReview, false},
	ActionApprove: {StatusInReview, StatusApproved, false},
	ActionReject:  {StatusInReview, StatusDraft, true},
	ActionPublish: {StatusApproved, StatusPublished, false},
	ActionRetire:  {StatusPublished, StatusRetired, true},
}

// ValidAction reports whether a is a review action (submit, approve,
// reject, publish, retire).
func ValidAction(a Action) bool {
	_, ok := rules[a]
	return ok
}

// Review decides whether user by may take action a on it, given its
// history, and returns the transition to record. It is pure: the store
// applies the result. Nobody who created the item, wrote its current
// version or submitted it for review may approve it.
func Review(it *Item, history []Transition, a Action, by, reason string, at time.Time) (Transition, error) {
	r, ok := rules[a]
	if !ok {
		return Transition{}, fmt.Errorf("%w: unknown action %q", ErrBadTransition, a)
	}
	if it.Status != r.from {
		return Transition{}, fmt.Errorf("%w: cannot %s an item that is %s", ErrBadTransition, a, it.Status)
	}
	reason = strings.TrimSpace(reason)
	if r.reason && reason == "" {
		return Transition{}, fmt.Errorf("%s: %w", a, ErrReasonRequired)
	}
	if a == ActionApprove && (by == it.CreatedBy || by == it.UpdatedBy || by == submitter(history)) {
		return Transition{}, ErrSelfApproval
	}
	return Transition{Action: a, From: it.Status, To: r.to, Version: it.Version, By: by, At: at, Reason: reason}, nil
}

// submitter returns who last submitted the item for review.
func submitter(history []Transition) string {
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Action == ActionSubmit {
			return history[i].By
		}
	}
	return ""
}
