// Package campaigntest has test support for code that runs campaigns: an
// in-memory content library the engine can read.
package campaigntest

import (
	"context"
	"fmt"
	"time"

	"github.com/zengcheng-kexie/kepubot/content"
)

// Items is an in-memory content library (campaign.Items): every item by
// id; published ones are deliverable.
type Items map[string]*content.Item

// Item returns item id.
func (m Items) Item(_ context.Context, _, id string) (*content.Item, error) {
	if it, ok := m[id]; ok {
		return it, nil
	}
	return nil, fmt.Errorf("item %s not found", id)
}

// Deliverable lists the published items.
func (m Items) Deliverable(_ context.Context, _ string, _ time.Time) ([]*content.Item, error) {
	var out []*content.Item
	for _, it := range m {
		if it.Status == content.StatusPublished {
			out = append(out, it)
		}
	}
	return out, nil
}
