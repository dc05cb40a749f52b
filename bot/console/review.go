package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/content"
)

// queuePage bounds each list of the review page; the oldest items of the
// queue are shown first, since they have waited longest.
const queuePage = 50

// reviewEntry is an item on the review page.
type reviewEntry struct {
	Item       itemDoc
	StatusName string
	Since      time.Time // when it entered its current status
	By         string    // who put it there
	Published  int       // the last published version, 0 if none
	Diff       versionDiff
	Actions    []itemAction
	Rejected   *historyRow // the rejection that sent it back, for an editor
	CSRF       string      // for the action forms
}

type reviewView struct {
	Queue      []reviewEntry // in review, oldest first
	QueueTotal int
	Approved   []reviewEntry // approved, waiting to be published (organizers)
	Mine       []reviewEntry // the editor's own drafts and items in review
	ShowMine   bool
	ShowPub    bool
}

// reviewPage is the review queue: reviewers approve or reject each item
// against its last published version; editors see where their own items
// stand and why one came back; organizers see what awaits publishing.
func (c *Console) reviewPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	ctx := r.Context()
	who, err := c.userNames(ctx)
	if err != nil {
		return err
	}
	var v reviewView
	queue, total, err := c.oldestItems(ctx, s, content.StatusInReview)
	if err != nil {
		return apiFail(err)
	}
	v.QueueTotal = total
	if v.Queue, err = c.reviewEntries(ctx, s, queue, who, true); err != nil {
		return apiFail(err)
	}
	if v.ShowPub = mayAct(s, admin.RoleOrganizer); v.ShowPub {
		approved, _, err := c.oldestItems(ctx, s, content.StatusApproved)
		if err != nil {
			return apiFail(err)
		}
		if v.Approved, err = c.reviewEntries(ctx, s, approved, who, false); err != nil {
			return apiFail(err)
		}
	}
	if v.ShowMine = s.Role == admin.RoleEditor; v.ShowMine {
		var mine []content.Item
		for _, st := range []content.Status{content.StatusDraft, content.StatusInReview} {
			var list itemList
			if err := c.call(ctx, s, http.MethodGet, "/api/v1/items?limit="+strconv.Itoa(maxPageAPI)+"&status="+string(st), nil, &list); err != nil {
				return apiFail(err)
			}
			for _, it := range list.Items {
				if it.CreatedBy == s.UserID || it.UpdatedBy == s.UserID {
					mine = append(mine, it)
				}
			}
		}
		if len(mine) > queuePage {
			mine = mine[:queuePage]
		}
		if v.Mine, err = c.reviewEntries(ctx, s, mine, who, false); err != nil {
			return apiFail(err)
		}
		slices.SortStableFunc(v.Mine, func(a, b reviewEntry) int { return b.Since.Compare(a.Since) })
	}
	c.render(w, http.StatusOK, "review.html", view{Title: "审核", Session: s, Data: v})
	return nil
}

// maxPageAPI is the admin API's largest page.
const maxPageAPI = 500

// oldestItems returns up to queuePage items of status st, oldest first,
// and how many there are.
func (c *Console) oldestItems(ctx context.Context, s *Session, st content.Status) ([]content.Item, int, error) {
	var head itemList
	if err := c.call(ctx, s, http.MethodGet, "/api/v1/items?limit=1&status="+string(st), nil, &head); err != nil {
		return nil, 0, err
	}
	if head.Total == 0 {
		return nil, 0, nil
	}
	// The API lists newest first: the oldest are the last page.
	offset := max(head.Total-queuePage, 0)
	var list itemList
	path := "/api/v1/items?limit=" + strconv.Itoa(queuePage) + "&offset=" + strconv.Itoa(offset) + "&status=" + string(st)
	if err := c.call(ctx, s, http.MethodGet, path, nil, &list); err != nil {
		return nil, 0, err
	}
	slices.Reverse(list.Items)
	return list.Items, head.Total, nil
}

// reviewEntries reads each item's history and, with diff, its changes
// since the last published version; sorted by how long each has waited.
func (c *Console) reviewEntries(ctx context.Context, s *Session, items []content.Item, who func(string) string, diff bool) ([]reviewEntry, error) {
	out := make([]reviewEntry, 0, len(items))
	for _, it := range items {
		doc, err := c.getItem(ctx, s, it.ID, 0)
		if err != nil {
			return nil, err
		}
		e := reviewEntry{Item: doc, StatusName: itemStatusNames[doc.Status], Published: lastPublished(doc.History),
			Actions: actionsFor(s, doc.Status), Since: doc.UpdatedAt, CSRF: s.CSRF}
		if n := len(doc.History); n > 0 {
			last := doc.History[n-1]
			e.Since, e.By = last.At, who(last.By)
		}
		if t, ok := pendingRejection(doc.History); ok {
			e.Rejected = &historyRow{Transition: t, ActionName: actionNames[t.Action], ByName: who(t.By)}
		}
		if diff && e.Published > 0 && e.Published < doc.Version {
			if e.Diff, err = c.diffItem(ctx, s, doc, e.Published, doc.Version); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b reviewEntry) int { return a.Since.Compare(b.Since) })
	return out, nil
}

// pendingRejection returns the rejection not yet answered by a new
// submission, if any.
func pendingRejection(h []content.Transition) (content.Transition, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		switch h[i].Action {
		case content.ActionSubmit:
			return content.Transition{}, false
		case content.ActionReject:
			return h[i], true
		}
	}
	return content.Transition{}, false
}
