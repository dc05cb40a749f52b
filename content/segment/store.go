package segment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// savedKey is the one Redis key of this package: a hash per account,
// segment name → JSON-encoded Saved.
//
//	kb:{<acct>}:segments
func savedKey(account string) string { return "kb:{" + account + "}:segments" }

// Errors of the saved-segment store.
var (
	ErrNotFound    = errors.New("segment not found")
	ErrExists      = errors.New("segment already exists")
	ErrInvalidName = errors.New("invalid segment name")
)

var namePattern = regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)

// ValidName reports whether name can name a saved segment: 1 to 40 of
// a-z, 0-9, _ and -.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// Saved is a named segment an organizer kept for reuse.
type Saved struct {
	Name      string    `json:"name"`
	Expr      string    `json:"expr"` // canonical form
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Store keeps saved segments in Redis, validated against a taxonomy.
type Store struct {
	rdb redis.UniversalClient
	tax *taxonomy.Taxonomy
}

// NewStore returns a store over rdb that validates expressions with tax.
func NewStore(rdb redis.UniversalClient, tax *taxonomy.Taxonomy) *Store {
	return &Store{rdb: rdb, tax: tax}
}

// Save stores seg under its name, with its expression in canonical form
// (so a saved segment keeps meaning the same ids if names change). It
// returns what was stored; a bad expression is a *SyntaxError, a taken
// name ErrExists.
func (s *Store) Save(ctx context.Context, account string, seg Saved) (Saved, error) {
	if !profile.ValidAccount(account) {
		return Saved{}, fmt.Errorf("save segment: invalid account %q", account)
	}
	if !ValidName(seg.Name) {
		return Saved{}, fmt.Errorf("save segment: %w %q: use 1-40 of a-z, 0-9, _ and -", ErrInvalidName, seg.Name)
	}
	e, err := Parse(seg.Expr, s.tax)
	if err != nil {
		return Saved{}, fmt.Errorf("save segment %s: %w", seg.Name, err)
	}
	seg.Expr = e.String()
	b, err := json.Marshal(seg)
	if err != nil {
		return Saved{}, fmt.Errorf("save segment %s: %w", seg.Name, err)
	}
	ok, err := s.rdb.HSetNX(ctx, savedKey(account), seg.Name, b).Result()
	if err != nil {
		return Saved{}, fmt.Errorf("save segment %s: %w", seg.Name, err)
	}
	if !ok {
		return Saved{}, fmt.Errorf("save segment %s: %w", seg.Name, ErrExists)
	}
	return seg, nil
}

// Get returns the saved segment name, or ErrNotFound.
func (s *Store) Get(ctx context.Context, account, name string) (Saved, error) {
	if !profile.ValidAccount(account) {
		return Saved{}, fmt.Errorf("get segment: invalid account %q", account)
	}
	raw, err := s.rdb.HGet(ctx, savedKey(account), name).Bytes()
	if errors.Is(err, redis.Nil) {
		return Saved{}, fmt.Errorf("get segment %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Saved{}, fmt.Errorf("get segment %s: %w", name, err)
	}
	var seg Saved
	if err := json.Unmarshal(raw, &seg); err != nil {
		return Saved{}, fmt.Errorf("get segment %s: %w", name, err)
	}
	return seg, nil
}

// List returns every saved segment of account, by name.
func (s *Store) List(ctx context.Context, account string) ([]Saved, error) {
	if !profile.ValidAccount(account) {
		return nil, fmt.Errorf("list segments: invalid account %q", account)
	}
	m, err := s.rdb.HGetAll(ctx, savedKey(account)).Result()
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	out := make([]Saved, 0, len(m))
	for name, raw := range m {
		var seg Saved
		if err := json.Unmarshal([]byte(raw), &seg); err != nil {
			return nil, fmt.Errorf("list segments: %s: %w", name, err)
		}
		out = append(out, seg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete removes the saved segment name, or returns ErrNotFound.
func (s *Store) Delete(ctx context.Context, account, name string) error {
	if !profile.ValidAccount(account) {
		return fmt.Errorf("delete segment: invalid account %q", account)
	}
	n, err := s.rdb.HDel(ctx, savedKey(account), name).Result()
	if err != nil {
		return fmt.Errorf("delete segment %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("delete segment %s: %w", name, ErrNotFound)
	}
	return nil
}
