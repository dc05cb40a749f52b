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
