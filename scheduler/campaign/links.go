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
	"github.com/zengcheng-kexie/kepubot/content"
)

// Links makes and reads click-tracking links, KEPUBOT_PUBLIC_URL/r/{token}.
// A token carries (account, campaign, item, subscriber, item version) and
// an HMAC, so nothing is stored per link and a forged token is refused.
// The HMAC key is created once in Redis and shared by every replica.
// A link leads to the version of the item that was sent, never to a later
// unreviewed edit; a retired item's link leads to a withdrawal notice.
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
	rdb.SetNX(ctx, linksKey, hex.EncodeToString(b[:]), 0)
	k, err := rdb.Get(ctx, linksKey).Result()
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
	// Version is the item version the link was made for; 0 in links made
	// before versions were carried (they lead to the last published one).
	Version int
}

// URL returns the tracked link; id may be nil. It carries no item
// version: prefer ItemURL.
func (l *Links) URL(account, campaign, item string, id *profile.ID) string {
	return l.ItemURL(account, campaign, item, 0, id)
}

// ItemURL returns the tracked link to version of item; id may be nil.
func (l *Links) ItemURL(account, campaign, item string, version int, id *profile.ID) string {
	payload := account + "|" + campaign + "|" + item + "|"
	if id != nil {
		payload += strconv.FormatUint(id.Uint64(), 36)
	}
	if version > 0 {
		payload += "|" + strconv.Itoa(version)
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
	if len(f) != 4 && len(f) != 5 {
		return Click{}, ErrBadLink
	}
	c := Click{Account: f[0], Campaign: f[1], Item: f[2]}
	if len(f) == 5 {
		v, err := strconv.Atoi(f[4])
		if err != nil || v < 1 {
			return Click{}, ErrBadLink
		}
		c.Version = v
	}
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

// WithdrawnError is returned by Engine.Click for a link to an item that
// has been retired: the link shows a notice instead of the item.
type WithdrawnError struct {
	Title  string // the withdrawn item's title
	Reason string // why it was withdrawn, "" when unknown
	// Correction is the item a correction campaign sent in its place, nil
	// when there is none.
	Correction *content.Item
}

func (e *WithdrawnError) Error() string { return "item withdrawn" }

// ItemVersions is the part of a content library that keeps past versions
// (StoreItems). Without it a link leads to the current version only while
// that is published.
type ItemVersions interface {
	// ItemVersion returns version n of an item as it was written.
	ItemVersion(ctx context.Context, account, id string, n int) (*content.Item, error)
	// LastPublished returns the last version of an item that was
	// published, and the reason it was retired ("" when it was not).
	LastPublished(ctx context.Context, account, id string) (version int, retireReason string, err error)
}

// sentItem returns the item a link leads to: the version that was sent,
// with the current item's topics. A retired item is a *WithdrawnError.
func (e *Engine) sentItem(ctx context.Context, cl Click) (*content.Item, error) {
	cur, err := e.cfg.Items.Item(ctx, cl.Account, cl.Item)
	if err != nil {
		return nil, fmt.Errorf("click: %w", err)
	}
	iv, hasVersions := e.cfg.Items.(ItemVersions)
	if cur.Status == content.StatusRetired {
		w := &WithdrawnError{Title: cur.Title}
		if hasVersions {
			_, w.Reason, _ = iv.LastPublished(ctx, cl.Account, cl.Item)
		}
		w.Correction = e.correctionOf(ctx, cl.Account, cl.Item)
		return nil, w
	}
	version := cl.Version
	if cur.Status == content.StatusPublished && (version == 0 || version == cur.Version) {
		return cur, nil
	}
	if !hasVersions {
		if cur.Status == content.StatusPublished {
			return cur, nil
		}
		return nil, fmt.Errorf("click: item %s version %d: %w", cl.Item, version, content.ErrNotFound)
	}
	if version == 0 {
		if version, _, err = iv.LastPublished(ctx, cl.Account, cl.Item); err != nil {
			return nil, fmt.Errorf("click: %w", err)
		}
		if version == 0 {
			return nil, fmt.Errorf("click: item %s was never published: %w", cl.Item, content.ErrNotFound)
		}
	}
	sent, err := iv.ItemVersion(ctx, cl.Account, cl.Item, version)
	if err != nil {
		return nil, fmt.Errorf("click: %w", err)
	}
	out := *cur
	out.URL = sent.URL
	return &out, nil
}

// correctionOf finds the item of the newest correction campaign for a
// retired item among the recent campaigns; nil when there is none.
func (e *Engine) correctionOf(ctx context.Context, account, item string) *content.Item {
	cs, err := e.cfg.Store.List(ctx, account, 500)
	if err != nil {
		return nil
	}
	for _, c := range cs {
		if c.CorrectionOf != item || c.ItemID == "" || c.StartedAt == nil {
			continue
		}
		if it, err := e.cfg.Items.Item(ctx, account, c.ItemID); err == nil && it.Status == content.StatusPublished {
			return it
		}
	}
	return nil
}
