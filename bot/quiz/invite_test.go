package quiz_test

import (
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/quiz"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// TestInvite creates the invitation campaign of a published competition:
// a published item carrying the reply code, and a draft campaign to the
// competition's audience. A draft competition cannot be invited to.
func TestInvite(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c, _ := f.competition(t, 2, func(c *content.Competition) { c.Audience = "group:farmer & town:paitan" })
	ps, err := profile.NewStore(f.ctx, f.rdb, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	camps := campaign.New(campaign.Config{Store: campaign.NewStore(f.rdb), Profiles: ps, Items: campaign.StoreItems{Store: f.lib},
		Compile: func(expr string, at time.Time) (profile.Program, error) {
			e, err := segment.Parse(expr, tax)
			if err != nil {
				return nil, err
			}
			return e.Compile(at, time.UTC), nil
		}})
	camp, err := quiz.Invite(f.ctx, f.lib, camps, "default", c.ID, "https://kepu.example.org/quiz", "u1")
	if err != nil {
		t.Fatal(err)
	}
	if camp.Audience != c.Audience || camp.Mode != campaign.ModeItem || camp.Status != campaign.StatusDraft {
		t.Errorf("campaign = %+v, want a draft item campaign to %q", camp, c.Audience)
	}
	it, err := f.lib.Item(f.ctx, "default", camp.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	if it.Status != content.StatusPublished || !strings.Contains(it.Summary, "答题 KX2027") {
		t.Errorf("item = %s %q, want published with the reply code", it.Status, it.Summary)
	}
	if fields := it.Validate(vocab{}); len(fields) > 0 {
		t.Errorf("invitation item is invalid: %v", fields)
	}

	draft, err := f.lib.CreateCompetition(f.ctx, "default", content.Competition{Code: "DRAFT1", Title: "草稿", QuestionCount: 1,
		TimeLimitSeconds: 30, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := quiz.Invite(f.ctx, f.lib, camps, "default", draft.ID, "https://x.example", "u1"); err == nil {
		t.Error("Invite to a draft competition succeeded")
	}
}

type vocab struct{}

func (vocab) ValidGroup(string) bool { return true }
func (vocab) ValidTown(string) bool  { return true }
func (vocab) ValidTopic(string) bool { return true }
