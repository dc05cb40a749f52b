package campaign

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// Links makes and reads click-tracking links, KEPUBOT_PUBLIC_URL/r/{token}.
// A token carries (account, campaign, item, subscriber) and an HMAC, so
// nothing is stored per link and a forged token is refused. The HMAC key
// is created once in Redis and shared by every replica.
type Links struct {
	base string
	key  []byte
}

// ErrBadLink is returned for a token that is malformed or forged.
var ErrBadLink = errors.New("bad link")

// NewLinks returns a link maker for publicURL, loading (or creating) the
// shared key.
func NewLinks(ctx context.Context, rdb redis.UniversalClient, publicURL string) (*Links, error) {
	var b [32]byte
	rand.Read(b[:])
	rdb.SetNX(ctx, "kb:{links}:key", hex.EncodeToString(b[:]), 0)
	k, err := rdb.Get(ctx, "kb:{links}:key").Result()
	if err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	key, err := hex.DecodeString(k)
	if err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	return &Links{base: strings.TrimSuffix(publicURL, "/"), key: key}, nil
}

// Click is what a link token says.
type Click struct {
	Account, Campaign, Item string
	// ID is the subscriber, nil for a mass message's shared link.
	ID *profile.ID
}

// URL returns the tracked link; id may be nil.
func (l *Links) URL(account, campaign, item string, id *profile.ID) string {
	payload := account + "|" + campaign + "|" + item + "|"
	if id != nil {
		payload += strconv.FormatUint(id.Uint64(), 36)
	}
	mac := hmac.New(sha256.New, l.key)
	mac.Write([]byte(payload))
	tok := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:9])
	return l.base + "/r/" + tok
}

// Parse verifies a token and returns what it says.
func (l *Links) Parse(token string) (Click, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Click{}, ErrBadLink
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return Click{}, ErrBadLink
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return Click{}, ErrBadLink
	}
	mac := hmac.New(sha256.New, l.key)
	mac.Write(payload)
	if !hmac.Equal(got, mac.Sum(nil)[:9]) {
		return Click{}, ErrBadLink
	}
	f := strings.Split(string(payload), "|")
	if len(f) != 4 {
		return Click{}, ErrBadLink
	}
	c := Click{Account: f[0], Campaign: f[1], Item: f[2]}
	if f[3] != "" {
		v, err := strconv.ParseUint(f[3], 36, 64)
		if err != nil {
			return Click{}, ErrBadLink
		}
		id := profile.IDFromUint64(v)
		c.ID = &id
	}
	return c, nil
}
