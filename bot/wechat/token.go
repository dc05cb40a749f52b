package wechat

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed scripts/drop_token.lua
var dropTokenLua string

// dropTokenScript drops the token only if it is the failed one: scripts/drop_token.lua.
var dropTokenScript = redis.NewScript(dropTokenLua)

// AccessToken returns the account's access token, shared by every replica
// through Redis and fetched from /cgi-bin/stable_token when missing.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	start := time.Now()
	tok, err := c.oa.GetAccessTokenContext(ctx)
	if err != nil {
		err = wrap("access_token", err)
		c.metrics.observe("access_token", err, start)
		return "", err
	}
	return tok, nil
}

// dropToken forgets tok if it is still the cached token.
func (c *Client) dropToken(ctx context.Context, tok string) error {
	c.cache.forget(tokenKey(c.cfg.AppID))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	n, err := dropTokenScript.Run(ctx, c.rdb, []string{tokenKey(c.cfg.AppID)}, tok).Int()
	c.cache.forget(tokenKey(c.cfg.AppID)) // and after: a read may have raced the delete
	if err != nil {
		return fmt.Errorf("drop access token: %w", err)
	}
	if n == 1 {
		c.log.Info("dropped rejected access token")
	}
	return nil
}

// do runs one API call with the shared token. fn receives the token it
// must use; SDK calls read the same token from the cache themselves. When
// WeChat rejects the token (40001, 40014, 42001) the token is dropped, if
// no one has replaced it yet, and the call is retried once.
func (c *Client) do(ctx context.Context, api string, fn func(token string) error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("wechat %s: %w", api, err)
		}
		tok, err := c.AccessToken(ctx)
		if err != nil {
			return err
		}
		start := time.Now()
		err = fn(tok)
		if err != nil {
			err = wrap(api, err)
		}
		c.metrics.observe(api, err, start)
		if err == nil || attempt > 0 || Classify(err) != TokenInvalid {
			return err
		}
		if derr := c.dropToken(ctx, tok); derr != nil {
			return fmt.Errorf("%w (and %v)", err, derr)
		}
	}
}
