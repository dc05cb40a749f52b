// Package qrcode keeps parametric QR channels: what each QR scene means
// (a group, a town, interests, a source such as a farmers' training in 派潭),
// so that a follow or scan through it profiles the subscriber without asking.
package qrcode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Scene is what a QR code's scene string stands for.
type Scene struct {
	Scene     string   `json:"scene"`
	Group     string   `json:"group,omitempty"`
	Town      string   `json:"town,omitempty"`
	Interests []string `json:"interests,omitempty"`
	Source    string   `json:"source,omitempty"`
	// Elder turns elder mode (长辈模式) on for whoever follows or scans.
	Elder     bool      `json:"elder,omitempty"`
	Temporary bool      `json:"temporary"`
	Ticket    string    `json:"ticket,omitempty"`
	URL       string    `json:"url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Event, when set, makes the scene an event check-in code.
	Event string `json:"event,omitempty"`
}

// ErrNotFound is returned for a scene kepubot did not create.
var ErrNotFound = errors.New("qr scene not found")

// Store keeps scenes in Redis, one string key per scene:
//
//	kb:{<acct>}:qr:<scene>  JSON Scene (expires with a temporary code)
type Store struct {
	rdb redis.UniversalClient
}

// NewStore returns a scene store over rdb.
func NewStore(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

func key(account, scene string) string { return "kb:{" + account + "}:qr:" + scene }

// NewSceneID returns a fresh scene string: "s" and 12 hex digits, well
// within WeChat's 64-character limit for scene_str.
func NewSceneID() string {
	var b [6]byte
	rand.Read(b[:])
	return "s" + hex.EncodeToString(b[:])
}

// Save records s; a temporary scene is kept a day longer than its code lives.
func (st *Store) Save(ctx context.Context, account string, s Scene) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	var ttl time.Duration
	if !s.ExpiresAt.IsZero() {
		ttl = time.Until(s.ExpiresAt) + 24*time.Hour
	}
	if err := st.rdb.Set(ctx, key(account, s.Scene), b, ttl).Err(); err != nil {
		return fmt.Errorf("save qr scene: %w", err)
	}
	return nil
}

// Get returns the scene named scene, or ErrNotFound.
func (st *Store) Get(ctx context.Context, account, scene string) (Scene, error) {
	b, err := st.rdb.Get(ctx, key(account, scene)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Scene{}, ErrNotFound
	}
	if err != nil {
		return Scene{}, fmt.Errorf("get qr scene: %w", err)
	}
	var s Scene
	if err := json.Unmarshal(b, &s); err != nil {
		return Scene{}, fmt.Errorf("get qr scene %q: %w", scene, err)
	}
	return s, nil
}
