package quiz

import (
	"context"
	"errors"
	"fmt"

	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// InvitationItem is the content item that invites a competition's
// audience: its summary carries the reply code (答题 <code>), so a
// mass message, a customer-service card or a template notice all tell the
// reader what to send. url is the competition's rules page.
func InvitationItem(c content.Competition, url string) content.Item {
	return content.Item{
		ExternalID: "quiz-invite-" + c.ID,
		Title:      truncate("邀请您参加："+c.Title, content.MaxTitle),
		Summary: truncate(fmt.Sprintf("共%d题，每题限时%d秒。在本公众号回复“答题 %s”即可参加，答完马上看成绩和排名！",
			c.Questions(), c.TimeLimitSeconds, c.Code), content.MaxSummary),
		Short:     truncate("回复“答题 "+c.Code+"”参加知识竞赛", content.MaxShort),
		URL:       url,
		Source:    "增城区科协",
		Priority:  content.MaxPriority,
		ValidFrom: c.StartsAt,
		// ValidUntil stays empty: EndsAt may pass while a campaign still runs.
	}
}

// Invite creates the invitation campaign of a published competition: the
// invitation item (published directly, it is generated, not authored;
// re-inviting updates it) and a draft campaign to the competition's
// audience, which an organizer starts or schedules like any other
// (POST /api/v1/campaigns/{id}/start). The campaign engine then picks each
// subscriber's channel through the planner, within WeChat's limits.
func Invite(ctx context.Context, lib *content.Store, camps Campaigns, account, compID, url, by string) (*campaign.Campaign, error) {
	c, err := lib.Competition(ctx, account, compID)
	if err != nil {
		return nil, fmt.Errorf("invite: %w", err)
	}
	if c.Status != content.StatusPublished {
		return nil, fmt.Errorf("invite: competition %s is %s: %w", compID, c.Status, ErrNotPublished)
	}
	it, _, err := lib.UpsertItem(ctx, account, InvitationItem(c, url), by, true)
	if err != nil {
		return nil, fmt.Errorf("invite: %w", err)
	}
	camp, err := camps.Create(ctx, account, campaign.Draft{Name: truncate("竞赛邀请："+c.Title, 100), Audience: c.Audience,
		ItemID: it.ID, CreatedBy: by})
	if err != nil {
		return nil, fmt.Errorf("invite: %w", err)
	}
	return camp, nil
}

// Campaigns creates campaigns (*campaign.Engine, the campaign service).
type Campaigns interface {
	Create(ctx context.Context, account string, d campaign.Draft) (*campaign.Campaign, error)
}

// ErrNotPublished is returned when inviting to a competition that is not
// published yet.
var ErrNotPublished = errors.New("competition not published")

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
