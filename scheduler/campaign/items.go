package campaign

import (
	"context"
	"time"

	"github.com/zengcheng-kexie/kepubot/content"
)

// StoreItems is the content store as the engine reads it (Items).
type StoreItems struct{ Store *content.Store }

// Item returns one item, any status.
func (s StoreItems) Item(ctx context.Context, account, id string) (*content.Item, error) {
	it, err := s.Store.Item(ctx, account, id)
	if err != nil {
		return nil, err
	}
	return &it, nil
}

// ItemVersion returns version n of an item as it was written.
func (s StoreItems) ItemVersion(ctx context.Context, account, id string, n int) (*content.Item, error) {
	it, err := s.Store.ItemVersion(ctx, account, id, n)
	if err != nil {
		return nil, err
	}
	return &it, nil
}

// LastPublished returns the last version of an item that was published and
// the reason it was retired since ("" when it was not).
func (s StoreItems) LastPublished(ctx context.Context, account, id string) (version int, retireReason string, err error) {
	hist, err := s.Store.History(ctx, account, id)
	if err != nil {
		return 0, "", err
	}
	for _, t := range hist {
		switch t.To {
		case content.StatusPublished:
			version, retireReason = t.Version, ""
		case content.StatusRetired:
			retireReason = t.Reason
		}
	}
	return version, retireReason, nil
}

// Deliverable lists the published items valid at t.
func (s StoreItems) Deliverable(ctx context.Context, account string, t time.Time) ([]*content.Item, error) {
	items, err := s.Store.Published(ctx, account, content.Query{At: t})
	if err != nil {
		return nil, err
	}
	out := make([]*content.Item, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out, nil
}
