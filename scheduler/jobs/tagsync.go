package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
)

// WeChat's tag limits (../shared/WECHAT.md).
const (
	maxTags        = 100 // per account
	maxTagsPerUser = 20
	maxTagName     = 30 // bytes
	tagBatch       = 50 // openids per (un)tagging call
)

// Tag sync errors callers branch on.
var (
	ErrTooManyTags = errors.New("the account already has WeChat's maximum of 100 tags")
	ErrTagName     = errors.New("a WeChat tag name is at most 30 bytes")
	ErrSyncBusy    = errors.New("a tag sync of this account is already running")
)

// Tagger is the WeChat tag API (*wechat.Client).
type Tagger interface {
	CreateTag(ctx context.Context, name string) (int, error)
	ListTags(ctx context.Context) ([]wechat.Tag, error)
	DeleteTag(ctx context.Context, tagID int) error
	TagUsers(ctx context.Context, tagID int, openIDs []string) error
	UntagUsers(ctx context.Context, tagID int, openIDs []string) error
}

// TagSyncConfig is what a TagSync needs; every field is required unless
// noted.
type TagSyncConfig struct {
	Profiles *profile.Store
	Segments *segment.Store
	// Compile turns a saved segment's expression into a program.
	Compile func(expr string, at time.Time) (profile.Program, error)
	// Client returns an account's tag API.
	Client func(account string) (Tagger, error)
	Now    func() time.Time // default time.Now
	// Backoff is the wait before retry n (n ≥ 1) after -1 or 45009
	// (default 1s·2^(n-1), capped at 1 minute); Retries bounds them
	// (default 6).
	Backoff func(n int) time.Duration
	Retries int
	Logger  *slog.Logger
}

// TagSync mirrors saved segments marked for sync into WeChat user tags, so
// a mass send can go by tag. Who was tagged is kept per tag as bitmaps in
// the profile shards (index tag:<id>), so each sync sends WeChat only the
// difference, and a sync with nothing changed makes no call at all.
type TagSync struct {
	rdb redis.UniversalClient
	cfg TagSyncConfig
	log *slog.Logger
}

// NewTagSync returns a tag sync.
func NewTagSync(rdb redis.UniversalClient, cfg TagSyncConfig) *TagSync {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return min(time.Minute, time.Second<<min(n-1, 6)) }
	}
	if cfg.Retries == 0 {
		cfg.Retries = 6
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &TagSync{rdb: rdb, cfg: cfg, log: cfg.Logger.With("component", "tagsync")}
}

// SyncResult is what one segment's sync did.
type SyncResult struct {
	Segment  string `json:"segment"`
	TagID    int    `json:"tag_id"`
	Members  int64  `json:"members"`  // reachable subscribers in the segment
	Tagged   int    `json:"tagged"`   // tags added this sync
	Untagged int    `json:"untagged"` // tags removed this sync
	// SkippedTagLimit counts subscribers left untagged because they
	// already carry WeChat's 20 tags; they are tried again after a week.
	SkippedTagLimit int       `json:"skipped_tag_limit"`
	Gone            int       `json:"gone"`  // no longer followers (40003)
	Calls           int       `json:"calls"` // WeChat calls made
	Error           string    `json:"error,omitempty"`
	At              time.Time `json:"at"`
}

// Mark adds a saved segment to the sync. Its name becomes the tag's name,
// so it must fit WeChat's 30 bytes.
func (ts *TagSync) Mark(ctx context.Context, account, name string) error {
	if len(name) > maxTagName {
		return fmt.Errorf("mark segment %s: %w", name, ErrTagName)
	}
	if _, err := ts.cfg.Segments.Get(ctx, account, name); err != nil {
		return fmt.Errorf("mark segment: %w", err)
	}
	if err := ts.rdb.SAdd(ctx, tagSyncKey(account), name).Err(); err != nil {
		return fmt.Errorf("mark segment %s: %w", name, err)
	}
	return nil
}

// Unmark removes a segment from the sync; the next sync deletes its tag.
func (ts *TagSync) Unmark(ctx context.Context, account, name string) error {
	n, err := ts.rdb.SRem(ctx, tagSyncKey(account), name).Result()
	if err != nil {
		return fmt.Errorf("unmark segment %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("unmark segment %s: %w", name, segment.ErrNotFound)
	}
	return nil
}

// Marked lists the segments synced to tags, with their last results.
func (ts *TagSync) Marked(ctx context.Context, account string) ([]SyncResult, error) {
	names, err := ts.rdb.SMembers(ctx, tagSyncKey(account)).Result()
	if err != nil {
		return nil, fmt.Errorf("marked segments: %w", err)
	}
	stats, err := ts.rdb.HGetAll(ctx, tagStatKey(account)).Result()
	if err != nil {
		return nil, fmt.Errorf("marked segments: %w", err)
	}
	sort.Strings(names)
	out := make([]SyncResult, 0, len(names))
	for _, n := range names {
		r := SyncResult{Segment: n}
		if raw, ok := stats[n]; ok {
			json.Unmarshal([]byte(raw), &r)
		}
		out = append(out, r)
	}
	return out, nil
}

// Job returns the tag-sync job function over accounts.
func (ts *TagSync) Job(accounts ...string) func(context.Context, Tick) error {
	return func(ctx context.Context, _ Tick) error {
		var errs []error
		for _, a := range accounts {
			if _, err := ts.Sync(ctx, a); err != nil {
				errs = append(errs, fmt.Errorf("account %s: %w", a, err))
			}
		}
		return errors.Join(errs...)
	}
}

// Sync brings every marked segment's tag of account up to date, and
// deletes the tags of segments no longer marked.
func (ts *TagSync) Sync(ctx context.Context, account string) ([]SyncResult, error) {
	ok, err := ts.rdb.SetNX(ctx, tagSyncLockKey(account), "1", 30*time.Minute).Result()
	if err != nil {
		return nil, fmt.Errorf("tag sync %s: %w", account, err)
	}
	if !ok {
		return nil, ErrSyncBusy
	}
	defer ts.rdb.Del(context.WithoutCancel(ctx), tagSyncLockKey(account))
	client, err := ts.cfg.Client(account)
	if err != nil {
		return nil, fmt.Errorf("tag sync %s: %w", account, err)
	}
	names, err := ts.rdb.SMembers(ctx, tagSyncKey(account)).Result()
	if err != nil {
		return nil, fmt.Errorf("tag sync %s: %w", account, err)
	}
	sort.Strings(names)
	if err := ts.dropUnmarked(ctx, client, account, names); err != nil {
		return nil, err
	}
	var out []SyncResult
	var errs []error
	for _, name := range names {
		r, err := ts.syncSegment(ctx, client, account, name)
		r.Segment, r.At = name, ts.cfg.Now()
		if err != nil {
			r.Error = err.Error()
			errs = append(errs, fmt.Errorf("segment %s: %w", name, err))
		}
		b, _ := json.Marshal(r)
		ts.rdb.HSet(ctx, tagStatKey(account), name, b)
		out = append(out, r)
		ts.log.Info("segment synced to tag", "account", account, "segment", name, "tag", r.TagID,
			"members", r.Members, "tagged", r.Tagged, "untagged", r.Untagged, "skipped", r.SkippedTagLimit, "calls", r.Calls)
	}
	return out, errors.Join(errs...)
}

// dropUnmarked deletes the tags of segments no longer marked, and what we
// kept about them.
func (ts *TagSync) dropUnmarked(ctx context.Context, client Tagger, account string, marked []string) error {
	ids, err := ts.rdb.HGetAll(ctx, tagIDsKey(account)).Result()
	if err != nil {
		return fmt.Errorf("tag sync %s: %w", account, err)
	}
	keep := map[string]bool{}
	for _, n := range marked {
		keep[n] = true
	}
	for name, v := range ids {
		if keep[name] {
			continue
		}
		id, _ := strconv.Atoi(v)
		if err := client.DeleteTag(ctx, id); err != nil {
			if code, _ := wechat.Code(err); code != 45159 { // already gone
				return fmt.Errorf("delete tag %d of segment %s: %w", id, name, err)
			}
		}
		if err := ts.forget(ctx, account, name, id); err != nil {
			return err
		}
	}
	return nil
}

// forget deletes a tag's mapping and bitmaps. Materializing an index that
// does not exist writes nothing and deletes the destination in every shard.
func (ts *TagSync) forget(ctx context.Context, account, name string, id int) error {
	for _, ix := range []string{syncedIndex(id), skipIndex(id), wantIndex(id)} {
		if _, err := ts.cfg.Profiles.Materialize(ctx, account, profile.Term("none:"+ix), ix, 0); err != nil {
			return fmt.Errorf("forget tag %d: %w", id, err)
		}
	}
	if err := ts.rdb.HDel(ctx, tagIDsKey(account), name).Err(); err != nil {
		return fmt.Errorf("forget tag %d: %w", id, err)
	}
	ts.rdb.HDel(ctx, tagStatKey(account), name)
	return nil
}

// ensureTag returns the segment's tag id, creating the tag (or adopting
// one of the same name) the first time.
func (ts *TagSync) ensureTag(ctx context.Context, client Tagger, account, name string, r *SyncResult) (int, error) {
	v, err := ts.rdb.HGet(ctx, tagIDsKey(account), name).Result()
	if err == nil {
		return strconv.Atoi(v)
	}
	if !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("tag of %s: %w", name, err)
	}
	if len(name) > maxTagName {
		return 0, ErrTagName
	}
	tags, err := client.ListTags(ctx)
	r.Calls++
	if err != nil {
		return 0, fmt.Errorf("list tags: %w", err)
	}
	id := 0
	for _, t := range tags {
		if t.Name == name {
			id = t.ID
		}
	}
	if id == 0 {
		if len(tags) >= maxTags {
			return 0, fmt.Errorf("create tag %q: %w; delete unused tags in WeChat or unmark a segment", name, ErrTooManyTags)
		}
		r.Calls++
		if id, err = client.CreateTag(ctx, name); err != nil {
			if code, _ := wechat.Code(err); code == 45056 {
				return 0, fmt.Errorf("create tag %q: %w", name, ErrTooManyTags)
			}
			return 0, fmt.Errorf("create tag %q: %w", name, err)
		}
	}
	if err := ts.rdb.HSet(ctx, tagIDsKey(account), name, id).Err(); err != nil {
		return 0, fmt.Errorf("tag of %s: %w", name, err)
	}
	return id, nil
}

// MassGroups returns the follower groups a mass send of account may address
// in one call (notify.Config.Groups): everyone, and each synced tag with
// the bitmap of whom the sync tagged. While a sync runs (or a dead one's
// lock lasts) tags are left out: their bitmaps may be behind WeChat's.
// A tag added to followers by hand in WeChat's console is not known here.
func (ts *TagSync) MassGroups(ctx context.Context, account string) ([]notify.Group, error) {
	groups := []notify.Group{notify.Everyone}
	busy, err := ts.rdb.Exists(ctx, tagSyncLockKey(account)).Result()
	if err != nil {
		return nil, fmt.Errorf("mass groups %s: %w", account, err)
	}
	if busy > 0 {
		return groups, nil
	}
	ids, err := ts.rdb.HGetAll(ctx, tagIDsKey(account)).Result()
	if err != nil {
		return nil, fmt.Errorf("mass groups %s: %w", account, err)
	}
	names := make([]string, 0, len(ids))
	for name := range ids {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		id, err := strconv.Atoi(ids[name])
		if err != nil {
			continue
		}
		groups = append(groups, notify.Group{TagID: id, Index: syncedIndex(id)})
	}
	return groups, nil
}
