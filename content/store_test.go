package content

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

type bundle struct {
	ctx   context.Context
	store *Store
	acct  string
	now   time.Time
}

func setup(t *testing.T) bundle {
	t.Helper()
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	return bundle{ctx: t.Context(), store: NewStore(redistest.Start(t), func() time.Time { return now }), acct: "default", now: now}
}

// publish takes a new item through review: u_1 writes, u_2 reviews.
func (b bundle) publish(t *testing.T, it Item) Item {
	t.Helper()
	got, err := b.store.CreateItem(b.ctx, b.acct, it, "u_1")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		a  Action
		by string
	}{{ActionSubmit, "u_1"}, {ActionApprove, "u_2"}, {ActionPublish, "u_2"}} {
		if got, err = b.store.Transition(b.ctx, b.acct, got.ID, step.a, step.by, ""); err != nil {
			t.Fatalf("%s: %v", step.a, err)
		}
	}
	return got
}

func ids(items []Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func TestItemReview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	it, err := b.store.CreateItem(b.ctx, b.acct, goodItem(), "u_1")
	if err != nil {
		t.Fatal(err)
	}
	if it.ID != "it_1" || it.Status != StatusDraft || it.Version != 1 || it.CreatedBy != "u_1" {
		t.Fatalf("CreateItem() = %+v, want it_1, draft, version 1 by u_1", it)
	}
	steps := []struct {
		action     Action
		by, reason string
		want       Status
		err        error
	}{
		{ActionApprove, "u_2", "", "", ErrBadTransition},
		{ActionSubmit, "u_1", "", StatusInReview, nil},
		{ActionApprove, "u_1", "", "", ErrSelfApproval},
		{ActionReject, "u_2", "", "", ErrReasonRequired},
		{ActionReject, "u_2", "请补充出处", StatusDraft, nil},
		{ActionSubmit, "u_1", "", StatusInReview, nil},
		{ActionApprove, "u_2", "", StatusApproved, nil},
		{ActionPublish, "u_2", "", StatusPublished, nil},
		{ActionPublish, "u_2", "", "", ErrBadTransition},
		{ActionRetire, "u_2", "数据已更新", StatusRetired, nil},
	}
	for _, s := range steps {
		got, err := b.store.Transition(b.ctx, b.acct, it.ID, s.action, s.by, s.reason)
		if !errors.Is(err, s.err) {
			t.Fatalf("Transition(%s by %s) error = %v, want %v", s.action, s.by, err, s.err)
		}
		if err == nil && got.Status != s.want {
			t.Fatalf("Transition(%s) status = %s, want %s", s.action, got.Status, s.want)
		}
	}
	hist, err := b.store.History(b.ctx, b.acct, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []Action
	for _, h := range hist {
		actions = append(actions, h.Action)
	}
	want := []Action{ActionCreate, ActionSubmit, ActionReject, ActionSubmit, ActionApprove, ActionPublish, ActionRetire}
	if !slices.Equal(actions, want) {
		t.Errorf("history = %v, want %v", actions, want)
	}
	if last := hist[len(hist)-1]; last.Reason != "数据已更新" || last.By != "u_2" || !last.At.Equal(b.now) {
		t.Errorf("retire recorded as %+v", last)
	}
	retired, err := b.store.RetiredSince(b.ctx, b.acct, b.now.Add(-time.Minute))
	if err != nil || !slices.Equal(retired, []string{it.ID}) {
		t.Errorf("RetiredSince() = %v, %v, want [%s]", retired, err, it.ID)
	}
	if _, err := b.store.Transition(b.ctx, b.acct, "it_99", ActionSubmit, "u_1", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Transition(missing) error = %v, want ErrNotFound", err)
	}
}

func TestItemVersions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	it := b.publish(t, goodItem())

	edit := goodItem()
	edit.Title = "荔枝花期管理要点（修订）"
	got, outcome, err := b.store.UpdateItem(b.ctx, b.acct, it.ID, edit, "u_3")
	if err != nil || outcome != Updated {
		t.Fatalf("UpdateItem() = %v, %v", outcome, err)
	}
	if got.Version != 2 || got.Status != StatusDraft || got.UpdatedBy != "u_3" || got.CreatedBy != "u_1" {
		t.Errorf("after edit: version %d, status %s, updated by %s, created by %s; want 2, draft, u_3, u_1",
			got.Version, got.Status, got.UpdatedBy, got.CreatedBy)
	}
	v1, err := b.store.ItemVersion(b.ctx, b.acct, it.ID, 1)
	if err != nil || v1.Title != goodItem().Title || v1.Version != 1 {
		t.Errorf("version 1 = %q (v%d), %v; want the original title", v1.Title, v1.Version, err)
	}
	v2, err := b.store.ItemVersion(b.ctx, b.acct, it.ID, 2)
	if err != nil || v2.Title != edit.Title {
		t.Errorf("version 2 = %q, %v; want %q", v2.Title, err, edit.Title)
	}
	pub, err := b.store.Published(b.ctx, b.acct, Query{})
	if err != nil || len(pub) != 0 {
		t.Errorf("Published() after edit = %v, %v; want none until the new version is reviewed", ids(pub), err)
	}
	// The same content again is no new version.
	if got, outcome, err = b.store.UpdateItem(b.ctx, b.acct, it.ID, edit, "u_3"); err != nil || outcome != Unchanged || got.Version != 2 {
		t.Errorf("UpdateItem(same) = v%d %v, %v; want v2 unchanged", got.Version, outcome, err)
	}
	// u_3 wrote the current version, so u_3 may not approve it.
	if _, err := b.store.Transition(b.ctx, b.acct, it.ID, ActionSubmit, "u_3", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.Transition(b.ctx, b.acct, it.ID, ActionApprove, "u_3", ""); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("approve by the version's author: %v, want ErrSelfApproval", err)
	}
	if _, _, err := b.store.UpdateItem(b.ctx, b.acct, "it_42", edit, "u_3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateItem(missing) error = %v, want ErrNotFound", err)
	}
}

func TestPublished(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mk := func(title string, prio int, a Audience) Item {
		it := goodItem()
		it.Title, it.Priority, it.Audience = title, prio, a
		return it
	}
	litchi := b.publish(t, mk("litchi paitan farmers", 80, Audience{Groups: []string{"farmer"}, Towns: []string{"paitan"}, Topics: []string{"litchi"}}))
	health := b.publish(t, mk("health for everyone", 50, Audience{Topics: []string{"health"}}))
	general := b.publish(t, mk("for everyone", 10, Audience{}))
	expired := mk("expired", 90, Audience{})
	expired.ValidUntil = b.now
	b.publish(t, expired)
	future := mk("future", 90, Audience{})
	future.ValidFrom = b.now.Add(time.Hour)
	b.publish(t, future)
	if _, err := b.store.CreateItem(b.ctx, b.acct, mk("draft", 99, Audience{}), "u_1"); err != nil {
		t.Fatal(err)
	}
	retired := b.publish(t, mk("retired", 99, Audience{}))
	if _, err := b.store.Transition(b.ctx, b.acct, retired.ID, ActionRetire, "u_2", "wrong"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		q    Query
		want []string
	}{
		{Query{}, []string{litchi.ID, health.ID, general.ID}},
		{Query{Group: "farmer", Town: "paitan", Topics: []string{"litchi"}}, []string{litchi.ID, general.ID}},
		{Query{Group: "farmer", Town: "licheng"}, []string{health.ID, general.ID}},
		{Query{Group: "youth", Topics: []string{"health", "stem"}}, []string{health.ID, general.ID}},
		{Query{Topics: []string{"litchi"}}, []string{litchi.ID, general.ID}},
		{Query{At: b.now.Add(2 * time.Hour)}, []string{"it_5", litchi.ID, health.ID, general.ID}},
		{Query{At: b.now.Add(-time.Hour)}, []string{"it_4", litchi.ID, health.ID, general.ID}},
	}
	for _, tt := range tests {
		got, err := b.store.Published(b.ctx, b.acct, tt.q)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), tt.want) {
			t.Errorf("Published(%+v) = %v, want %v", tt.q, ids(got), tt.want)
		}
	}
	for _, id := range []string{"it_6", retired.ID} {
		if ok, err := b.store.Deliverable(b.ctx, b.acct, id, b.now); ok || err != nil {
			t.Errorf("Deliverable(%s) = %v, %v; want false", id, ok, err)
		}
	}
	if ok, err := b.store.Deliverable(b.ctx, b.acct, litchi.ID, b.now); !ok || err != nil {
		t.Errorf("Deliverable(%s) = %v, %v; want true", litchi.ID, ok, err)
	}
}

func TestUpsertItem(t *testing.T) {
	t.Parallel()
	b := setup(t)
	it := goodItem()
	it.ExternalID = "sample-litchi-001"
	first, outcome, err := b.store.UpsertItem(b.ctx, b.acct, it, "import", false)
	if err != nil || outcome != Created || first.Status != StatusDraft {
		t.Fatalf("first UpsertItem() = %v %s, %v", outcome, first.Status, err)
	}
	again, outcome, err := b.store.UpsertItem(b.ctx, b.acct, it, "import", false)
	if err != nil || outcome != Unchanged || again.ID != first.ID || again.Version != 1 {
		t.Fatalf("second UpsertItem() = %v %s v%d, %v; want unchanged %s v1", outcome, again.ID, again.Version, err, first.ID)
	}
	// A trusted source publishes directly, and the history says so.
	it.Summary = "新的摘要。"
	pub, outcome, err := b.store.UpsertItem(b.ctx, b.acct, it, "import", true)
	if err != nil || outcome != Updated || pub.Status != StatusPublished || pub.Version != 2 {
		t.Fatalf("trusted UpsertItem() = %v %s v%d, %v", outcome, pub.Status, pub.Version, err)
	}
	hist, _ := b.store.History(b.ctx, b.acct, pub.ID)
	if last := hist[len(hist)-1]; last.Action != ActionPublish || last.Reason != trustedReason {
		t.Errorf("last transition = %+v, want a trusted publish", last)
	}
	if _, err := b.store.CreateItem(b.ctx, b.acct, it, "u_1"); !errors.Is(err, ErrDuplicate) {
		t.Errorf("CreateItem(existing external_id) error = %v, want ErrDuplicate", err)
	}
	all, n, err := b.store.Items(b.ctx, b.acct, ItemFilter{})
	if err != nil || n != 1 || len(all) != 1 {
		t.Errorf("Items() = %d items (total %d), %v; want 1", len(all), n, err)
	}
}

// TestConcurrentUpsert runs replicas importing the same records at once:
// each external id ends up as exactly one item.
func TestConcurrentUpsert(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for r := range 4 {
		wg.Go(func() {
			for i := range 10 {
				it := goodItem()
				it.ExternalID = fmt.Sprintf("ext-%d", i)
				if _, _, err := b.store.UpsertItem(b.ctx, b.acct, it, fmt.Sprintf("replica-%d", r), false); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	_, n, err := b.store.Items(b.ctx, b.acct, ItemFilter{Status: StatusDraft})
	if err != nil || n != 10 {
		t.Errorf("drafts after concurrent import = %d, %v; want 10", n, err)
	}
}

func TestItemsFilter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 5 {
		it := goodItem()
		it.Title = fmt.Sprintf("item %d", i)
		if i%2 == 0 {
			it.Audience = Audience{Topics: []string{"health"}}
		}
		if i < 2 {
			b.publish(t, it)
		} else if _, err := b.store.CreateItem(b.ctx, b.acct, it, "u_1"); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		f     ItemFilter
		want  []string
		total int
	}{
		{ItemFilter{}, []string{"it_5", "it_4", "it_3", "it_2", "it_1"}, 5},
		{ItemFilter{Status: StatusPublished}, []string{"it_2", "it_1"}, 2},
		{ItemFilter{Topic: "health"}, []string{"it_5", "it_3", "it_1"}, 3},
		{ItemFilter{Group: "youth"}, []string{"it_5", "it_3", "it_1"}, 3},
		{ItemFilter{Limit: 2, Offset: 1}, []string{"it_4", "it_3"}, 5},
		{ItemFilter{Offset: 9}, []string{}, 5},
	}
	for _, tt := range tests {
		got, total, err := b.store.Items(b.ctx, b.acct, tt.f)
		if err != nil || total != tt.total || !slices.Equal(ids(got), tt.want) {
			t.Errorf("Items(%+v) = %v (total %d), %v; want %v (total %d)", tt.f, ids(got), total, err, tt.want, tt.total)
		}
	}
}

func TestQuizAndEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q, err := b.store.CreateQuestion(b.ctx, b.acct, Question{Stem: "s", Options: []string{"a", "b"}, Answer: []int{0}, Topic: "health", Difficulty: 1})
	if err != nil || q.ID != "q_1" || !q.CreatedAt.Equal(b.now) {
		t.Fatalf("CreateQuestion() = %+v, %v", q, err)
	}
	missing, err := b.store.MissingQuestions(b.ctx, b.acct, []string{"q_1", "q_7"})
	if err != nil || !slices.Equal(missing, []string{"q_7"}) {
		t.Errorf("MissingQuestions() = %v, %v; want [q_7]", missing, err)
	}
	c, err := b.store.CreateCompetition(b.ctx, b.acct, Competition{Title: "竞赛", QuestionCount: 5})
	if err != nil || c.ID != "c_1" || !ValidCode(c.Code) || c.Status != StatusDraft {
		t.Fatalf("CreateCompetition() = %+v, %v; want c_1 with a generated code, draft", c, err)
	}
	e, err := b.store.CreateEvent(b.ctx, b.acct, Event{Title: "科普日", Code: "kpr2027", ExternalID: "ev-1"})
	if err != nil || e.ID != "ev_1" || e.Code != "kpr2027" {
		t.Fatalf("CreateEvent() = %+v, %v", e, err)
	}
	if _, err := b.store.CreateCompetition(b.ctx, b.acct, Competition{Title: "x", Code: "KPR2027"}); !errors.Is(err, ErrCodeTaken) {
		t.Errorf("code taken by an event (any case): %v, want ErrCodeTaken", err)
	}
	if id, err := b.store.ByCode(b.ctx, b.acct, "KPR2027"); err != nil || id != e.ID {
		t.Errorf("ByCode() = %q, %v; want %s", id, err, e.ID)
	}
	if _, err := b.store.ByCode(b.ctx, b.acct, "NOPE"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ByCode(unknown) error = %v, want ErrNotFound", err)
	}
	pub, err := b.store.PublishEvent(b.ctx, b.acct, e.ID)
	if err != nil || pub.Status != StatusPublished {
		t.Fatalf("PublishEvent() = %s, %v", pub.Status, err)
	}
	// A re-import keeps the status and the code, and renames the code when asked.
	e.Venue, e.Code = "增城广场", "KPR27"
	up, outcome, err := b.store.UpsertEvent(b.ctx, b.acct, e)
	if err != nil || outcome != Updated || up.Status != StatusPublished || up.ID != e.ID {
		t.Fatalf("UpsertEvent() = %+v %v, %v", up, outcome, err)
	}
	if _, err := b.store.ByCode(b.ctx, b.acct, "kpr2027"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old code still claimed: %v", err)
	}
	if _, outcome, _ := b.store.UpsertEvent(b.ctx, b.acct, e); outcome != Unchanged {
		t.Errorf("UpsertEvent(same) = %v, want unchanged", outcome)
	}
	if _, err := b.store.PublishCompetition(b.ctx, b.acct, "c_9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("PublishCompetition(missing) error = %v, want ErrNotFound", err)
	}
	evs, n, err := b.store.Events(b.ctx, b.acct, StatusPublished, 0, 0)
	if err != nil || n != 1 || evs[0].Venue != "增城广场" {
		t.Errorf("Events(published) = %+v (%d), %v", evs, n, err)
	}
}
