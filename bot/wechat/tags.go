package wechat

import (
	"context"
	"errors"
	"fmt"
)

// Tag limits.
const (
	maxTagNameSize = 30 // bytes
	maxTagBatch    = 50 // openids per batch (un)tagging call
)

// Tag is a user tag of the account.
type Tag struct {
	ID    int
	Name  string
	Count int // followers with the tag
}

// CreateTag creates a tag and returns its id.
func (c *Client) CreateTag(ctx context.Context, name string) (int, error) {
	if name == "" || len(name) > maxTagNameSize {
		return 0, fmt.Errorf("wechat create tag: name must be 1-%d bytes", maxTagNameSize)
	}
	var id int
	err := c.do(ctx, "tag_create", func(string) error {
		t, err := c.user.CreateTag(name)
		if err == nil {
			id = int(t.ID)
		}
		return err
	})
	return id, err
}

// ListTags returns the account's tags. It calls the API itself: the SDK's
// GetTag ignores the errcode and returns no tags on any error.
func (c *Client) ListTags(ctx context.Context) ([]Tag, error) {
	type answer struct {
		apiResult
		Tags []struct {
			ID    int    `json:"id"`
			Name  string `json:"name"`
			Count int    `json:"count"`
		} `json:"tags"`
	}
	var ans answer
	err := c.do(ctx, "tag_list", func(tok string) error {
		ans = answer{} // a retry must not see the failed attempt's errcode
		return getJSON(ctx, "tag_list", "/cgi-bin/tags/get", tok, nil, &ans)
	})
	if err != nil {
		return nil, err
	}
	tags := make([]Tag, 0, len(ans.Tags))
	for _, t := range ans.Tags {
		tags = append(tags, Tag{ID: t.ID, Name: t.Name, Count: t.Count})
	}
	return tags, nil
}

// DeleteTag deletes a tag (and removes it from its users).
func (c *Client) DeleteTag(ctx context.Context, tagID int) error {
	return c.do(ctx, "tag_delete", func(string) error { return c.user.DeleteTag(int32(tagID)) })
}

// TagUsers adds tagID to the users, in calls of at most 50 openids. On an
// error the earlier batches stay tagged; tagging is idempotent, so the
// caller may simply retry.
func (c *Client) TagUsers(ctx context.Context, tagID int, openIDs []string) error {
	return c.batch(ctx, "tag_users", openIDs, func(ids []string) error { return c.user.BatchTag(ids, int32(tagID)) })
}

// UntagUsers removes tagID from the users, in calls of at most 50 openids.
func (c *Client) UntagUsers(ctx context.Context, tagID int, openIDs []string) error {
	return c.batch(ctx, "untag_users", openIDs, func(ids []string) error { return c.user.BatchUntag(ids, int32(tagID)) })
}

func (c *Client) batch(ctx context.Context, op string, openIDs []string, fn func([]string) error) error {
	if len(openIDs) == 0 {
		return errors.New("wechat " + op + ": no openids")
	}
	for start := 0; start < len(openIDs); start += maxTagBatch {
		ids := openIDs[start:min(start+maxTagBatch, len(openIDs))]
		if err := c.do(ctx, op, func(string) error { return fn(ids) }); err != nil {
			return fmt.Errorf("openids %d-%d: %w", start, start+len(ids)-1, err)
		}
	}
	return nil
}

// followersPageSize is the most openids /cgi-bin/user/get returns at once.
const followersPageSize = 10000

// ListFollowers returns one page of followers' openids after nextOpenID
// ("" for the first page), the nextOpenID of the following page ("" when
// this was the last) and the total number of followers.
func (c *Client) ListFollowers(ctx context.Context, nextOpenID string) (openIDs []string, next string, total int, err error) {
	err = c.do(ctx, "user_list", func(string) error {
		l, err := c.user.ListUserOpenIDs(nextOpenID)
		if err != nil {
			return err
		}
		openIDs, total = l.Data.OpenIDs, l.Total
		// WeChat returns the page's last openid even on the last page;
		// a short page means there is no next one.
		next = ""
		if l.Count >= followersPageSize {
			next = l.NextOpenID
		}
		return nil
	})
	return openIDs, next, total, err
}
