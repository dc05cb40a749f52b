package content

import (
	"errors"
	"testing"
	"time"
)

func TestReview(t *testing.T) {
	t.Parallel()
	at := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	submitted := []Transition{{Action: ActionSubmit, By: "u_3"}}
	tests := []struct {
		name    string
		status  Status
		history []Transition
		action  Action
		by      string
		reason  string
		want    Status
		err     error
	}{
		{"submit draft", StatusDraft, nil, ActionSubmit, "u_1", "", StatusInReview, nil},
		{"approve", StatusInReview, submitted, ActionApprove, "u_2", "", StatusApproved, nil},
		{"approve own item", StatusInReview, submitted, ActionApprove, "u_1", "", "", ErrSelfApproval},
		{"approve own version", StatusInReview, submitted, ActionApprove, "u_4", "", "", ErrSelfApproval},
		{"approve own submission", StatusInReview, submitted, ActionApprove, "u_3", "", "", ErrSelfApproval},
		{"reject with reason", StatusInReview, submitted, ActionReject, "u_2", "来源不可靠", StatusDraft, nil},
		{"reject without reason", StatusInReview, submitted, ActionReject, "u_2", "  ", "", ErrReasonRequired},
		{"publish approved", StatusApproved, nil, ActionPublish, "u_2", "", StatusPublished, nil},
		{"retire with reason", StatusPublished, nil, ActionRetire, "u_2", "数据过时", StatusRetired, nil},
		{"retire without reason", StatusPublished, nil, ActionRetire, "u_2", "", "", ErrReasonRequired},
		{"publish draft", StatusDraft, nil, ActionPublish, "u_2", "", "", ErrBadTransition},
		{"approve draft", StatusDraft, nil, ActionApprove, "u_2", "", "", ErrBadTransition},
		{"submit published", StatusPublished, nil, ActionSubmit, "u_1", "", "", ErrBadTransition},
		{"retire retired", StatusRetired, nil, ActionRetire, "u_2", "again", "", ErrBadTransition},
		{"unknown action", StatusDraft, nil, Action("delete"), "u_1", "", "", ErrBadTransition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			it := &Item{Status: tt.status, Version: 2, CreatedBy: "u_1", UpdatedBy: "u_4"}
			got, err := Review(it, tt.history, tt.action, tt.by, tt.reason, at)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Review(%s, %s by %s) error = %v, want %v", tt.status, tt.action, tt.by, err, tt.err)
			}
			if err != nil {
				return
			}
			if got.To != tt.want || got.From != tt.status || got.By != tt.by || !got.At.Equal(at) || got.Version != 2 {
				t.Errorf("Review(%s, %s) = %+v, want to %s", tt.status, tt.action, got, tt.want)
			}
		})
	}
}

func TestDeliverable(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		it   Item
		want bool
	}{
		{"published forever", Item{Status: StatusPublished}, true},
		{"draft", Item{Status: StatusDraft}, false},
		{"in review", Item{Status: StatusInReview}, false},
		{"approved", Item{Status: StatusApproved}, false},
		{"retired", Item{Status: StatusRetired}, false},
		{"not yet valid", Item{Status: StatusPublished, ValidFrom: now.Add(time.Second)}, false},
		{"valid from now", Item{Status: StatusPublished, ValidFrom: now}, true},
		{"expired", Item{Status: StatusPublished, ValidUntil: now}, false},
		{"inside window", Item{Status: StatusPublished, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)}, true},
	}
	for _, tt := range tests {
		if got := tt.it.Deliverable(now); got != tt.want {
			t.Errorf("%s: Deliverable() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAudienceMatches(t *testing.T) {
	t.Parallel()
	a := Audience{Groups: []string{"farmer"}, Towns: []string{"paitan"}, Topics: []string{"litchi", "agriculture"}}
	tests := []struct {
		aud                Audience
		group, town, topic string
		want               bool
	}{
		{a, "farmer", "paitan", "litchi", true},
		{a, "youth", "paitan", "litchi", false},
		{a, "farmer", "licheng", "litchi", false},
		{a, "farmer", "paitan", "health", false},
		{a, "", "", "", true},
		{Audience{}, "youth", "licheng", "health", true},
		{Audience{Topics: []string{"health"}}, "youth", "", "litchi", false},
	}
	for _, tt := range tests {
		var topics []string
		if tt.topic != "" {
			topics = []string{tt.topic}
		}
		if got := tt.aud.Matches(tt.group, tt.town, topics); got != tt.want {
			t.Errorf("%+v.Matches(%q, %q, %q) = %v, want %v", tt.aud, tt.group, tt.town, tt.topic, got, tt.want)
		}
	}
}
