package content

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store keeps the library in Redis. Every write is an optimistic
// transaction (WATCH/MULTI) on keys of one hash tag, so several replicas
// may write side by side, on one Redis or on Redis Cluster.
type Store struct {
	rdb redis.UniversalClient
	now func() time.Time
}

// NewStore returns a store on rdb; now is its clock (nil: time.Now).
func NewStore(rdb redis.UniversalClient, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, now: now}
}

// Outcome says what a save did.
type Outcome string

// Save outcomes. An unchanged record is not re-versioned.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
)

// ErrDuplicate means a create named an external_id the library already has.
var ErrDuplicate = errors.New("external_id already used")

// maxTxRetries bounds optimistic retries when other writers race us.
const maxTxRetries = 50

// txn runs fn in a WATCH transaction on keys, retrying when a watched key
// changed under it.
func (s *Store) txn(ctx context.Context, fn func(tx *redis.Tx) error, keys ...string) error {
	for range maxTxRetries {
		err := s.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return ErrConflict
}

// CreateItem stores a new item as a draft, version 1, written by user by.
// The item must have been validated. An external_id the library already
// has is ErrDuplicate (use UpsertItem to import).
func (s *Store) CreateItem(ctx context.Context, account string, it Item, by string) (Item, error) {
	out, _, err := s.saveItem(ctx, account, "", it, by, saveCreate)
	return out, err
}

// UpdateItem stores it as a new version of item id. The new version is a
// draft that needs review again; an item that was published leaves
// delivery until then. Content equal to the current version changes
// nothing (Unchanged). Retired items are not edited (ErrBadTransition),
// and the external_id, once set, is kept.
func (s *Store) UpdateItem(ctx context.Context, account, id string, it Item, by string) (Item, Outcome, error) {
	return s.saveItem(ctx, account, id, it, by, saveUpdate)
}

// UpsertItem creates or updates the item with it.ExternalID (required).
// With publish (a trusted source), a created or changed item is published
// directly and the history says so.
func (s *Store) UpsertItem(ctx context.Context, account string, it Item, by string, publish bool) (Item, Outcome, error) {
	if it.ExternalID == "" {
		return Item{}, "", errors.New("upsert item: external_id required")
	}
	mode := saveUpsert
	if publish {
		mode = saveUpsertPublish
	}
	return s.saveItem(ctx, account, "", it, by, mode)
}

type saveMode int

const (
	saveCreate saveMode = iota
	saveUpdate
	saveUpsert
	saveUpsertPublish
)

// trustedReason is recorded when a trusted import publishes an item.
const trustedReason = "trusted import"

func (s *Store) saveItem(ctx context.Context, account, id string, in Item, by string, mode saveMode) (Item, Outcome, error) {
	k := keysFor(account)
	var out Item
	var outcome Outcome
	var announce bool
	err := s.txn(ctx, func(tx *redis.Tx) error {
		id := id
		if id == "" && in.ExternalID != "" {
			got, err := tx.HGet(ctx, k.ext(kindItem), in.ExternalID).Result()
			switch {
			case err == nil && mode == saveCreate:
				return fmt.Errorf("%w: %q is %s", ErrDuplicate, in.ExternalID, got)
			case err == nil:
				id = got
			case !errors.Is(err, redis.Nil):
				return err
			}
		}
		var head *Item
		if id != "" {
			if err := tx.Watch(ctx, k.record(kindItem, id)).Err(); err != nil {
				return err
			}
			h, err := getJSON[Item](ctx, tx, k.record(kindItem, id))
			if errors.Is(err, ErrNotFound) && mode == saveUpdate {
				return fmt.Errorf("item %s: %w", id, ErrNotFound)
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			head = h
		}
		now := s.now()
		next := in
		next.Status, next.CreatedBy, next.UpdatedBy = StatusDraft, by, by
		next.CreatedAt, next.UpdatedAt = now, now
		var hist []Transition
		if head == nil {
			n, err := tx.Incr(ctx, k.seq(kindItem)).Result()
			if err != nil {
				return err
			}
			next.ID, next.Version = newID(kindItem, n), 1
			hist = append(hist, Transition{Action: ActionCreate, To: StatusDraft, Version: 1, By: by, At: now})
			outcome = Created
		} else {
			// The external id is the item's import key: an edit keeps it,
			// so the ext index never points at the wrong item.
			next.ExternalID = head.ExternalID
			next.ID, next.CreatedAt, next.CreatedBy = head.ID, head.CreatedAt, head.CreatedBy
			if sameContent(head, &next) {
				next = *head
				outcome = Unchanged
			} else {
				if head.Status == StatusRetired {
					return fmt.Errorf("%w: item %s is retired", ErrBadTransition, head.ID)
				}
				next.Version = head.Version + 1
				hist = append(hist, Transition{Action: ActionEdit, From: head.Status, To: StatusDraft, Version: next.Version, By: by, At: now})
				outcome = Updated
			}
		}
		if mode == saveUpsertPublish && next.Status != StatusPublished && next.Status != StatusRetired {
			hist = append(hist, Transition{Action: ActionPublish, From: next.Status, To: StatusPublished, Version: next.Version, By: by, At: now, Reason: trustedReason})
			next.Status = StatusPublished
			if outcome == Unchanged {
				outcome = Updated
			}
		}
		if outcome == Unchanged {
			out = next
			return nil
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if head == nil || head.Version != next.Version {
				v := next
				v.Status = StatusDraft
				if err := setJSON(ctx, p, k.version(next.ID, next.Version), v); err != nil {
					return err
				}
			}
			if head == nil {
				p.ZAdd(ctx, k.all(kindItem), redis.Z{Score: float64(idNumber(kindItem, next.ID)), Member: next.ID})
				if next.ExternalID != "" {
					p.HSet(ctx, k.ext(kindItem), next.ExternalID, next.ID)
				}
			}
			return applyItem(ctx, p, k, head, &next, hist)
		})
		out, announce = next, err == nil && publishedChange(head, &next)
		return err
	}, k.ext(kindItem))
	if err != nil {
		return Item{}, "", fmt.Errorf("save item %s: %w", firstNonEmpty(id, in.ExternalID, in.Title), err)
	}
	if announce {
		s.announce(ctx, account)
	}
	return out, outcome, nil
}

// applyItem queues the writes that move an item from old (nil: new) to
// nu: its record, status sets, published indexes and history.
func applyItem(ctx context.Context, p redis.Pipeliner, k keys, old, nu *Item, hist []Transition) error {
	if err := setJSON(ctx, p, k.record(kindItem, nu.ID), nu); err != nil {
		return err
	}
	if old == nil || old.Status != nu.Status {
		if old != nil {
			p.SRem(ctx, k.status(old.Status), nu.ID)
		}
		p.SAdd(ctx, k.status(nu.Status), nu.ID)
	}
	if old != nil && old.Status == StatusPublished {
		for _, key := range k.pubKeys(old.Audience) {
			p.SRem(ctx, key, nu.ID)
		}
		p.ZRem(ctx, k.pubUntil(), nu.ID)
	}
	if publishedChange(old, nu) {
		p.Incr(ctx, k.pubVersion())
	}
	if nu.Status == StatusPublished {
		for _, key := range k.pubKeys(nu.Audience) {
			p.SAdd(ctx, key, nu.ID)
		}
		until := math.Inf(1)
		if !nu.ValidUntil.IsZero() {
			until = float64(nu.ValidUntil.Unix())
		}
		p.ZAdd(ctx, k.pubUntil(), redis.Z{Score: until, Member: nu.ID})
	}
	for _, t := range hist {
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		p.RPush(ctx, k.history(nu.ID), b)
		if t.Action == ActionRetire {
			p.ZAdd(ctx, k.retired(), redis.Z{Score: float64(t.At.Unix()), Member: nu.ID})
		}
	}
	return nil
}

// publishedChange reports whether moving an item from old (nil: new) to
// nu changes the published library: what chat search finds.
func publishedChange(old, nu *Item) bool {
	return (old != nil && old.Status == StatusPublished) || nu.Status == StatusPublished
}

// announce tells every replica that account's published library changed
// (WatchLibrary). A lost message is caught by LibraryVersion.
func (s *Store) announce(ctx context.Context, account string) {
	s.rdb.Publish(context.WithoutCancel(ctx), libraryChannel, account)
}

// LibraryVersion returns the version of account's published library: it
// moves with every publish, retire and edit of a published item, so a
// replica that missed an announcement sees its index is stale.
func (s *Store) LibraryVersion(ctx context.Context, account string) (int64, error) {
	v, err := s.rdb.Get(ctx, keysFor(account).pubVersion()).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("library version %s: %w", account, err)
	}
	return v, nil
}

// WatchLibrary calls changed with the account of every published-library
// change announced by any replica, until ctx ends; ready, when not nil,
// is called once it listens. Announcements made while it was not
// listening are lost: compare LibraryVersion now and then.
func (s *Store) WatchLibrary(ctx context.Context, ready func(), changed func(account string)) error {
	sub := s.rdb.Subscribe(ctx, libraryChannel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		return fmt.Errorf("watch library: %w", err)
	}
	if ready != nil {
		ready()
	}
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-ch:
			if !ok {
				return errors.New("watch library: subscription closed")
			}
			changed(m.Payload)
		}
	}
}

// sameContent reports whether b says what a says, ignoring what the store
// sets (ids, versions, status, times, authors) and time zones.
func sameContent(a, b *Item) bool {
	norm := func(it Item) []byte {
		it.ID, it.Version, it.Status = "", 0, ""
		it.CreatedAt, it.UpdatedAt, it.CreatedBy, it.UpdatedBy = time.Time{}, time.Time{}, "", ""
		it.ValidFrom, it.ValidUntil = it.ValidFrom.UTC(), it.ValidUntil.UTC()
		b, _ := json.Marshal(it)
		return b
	}
	return string(norm(*a)) == string(norm(*b))
}

// Transition takes review action a on item id for user by (reason is
// required to reject or retire) and returns the item after it. Errors:
// ErrNotFound, ErrBadTransition, ErrSelfApproval, ErrReasonRequired.
func (s *Store) Transition(ctx context.Context, account, id string, a Action, by, reason string) (Item, error) {
	k := keysFor(account)
	var out Item
	var announce bool
	err := s.txn(ctx, func(tx *redis.Tx) error {
		head, err := getJSON[Item](ctx, tx, k.record(kindItem, id))
		if err != nil {
			return err
		}
		hist, err := history(ctx, tx, k, id)
		if err != nil {
			return err
		}
		t, err := Review(head, hist, a, by, reason, s.now())
		if err != nil {
			return err
		}
		nu := *head
		nu.Status = t.To
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			return applyItem(ctx, p, k, head, &nu, []Transition{t})
		})
		out, announce = nu, err == nil && publishedChange(head, &nu)
		return err
	}, k.record(kindItem, id))
	if err != nil {
		return Item{}, fmt.Errorf("%s item %s: %w", a, id, err)
	}
	if announce {
		s.announce(ctx, account)
	}
	return out, nil
}

// Item returns the current version of item id with its status.
func (s *Store) Item(ctx context.Context, account, id string) (Item, error) {
	it, err := getJSON[Item](ctx, s.rdb, keysFor(account).record(kindItem, id))
	if err != nil {
		return Item{}, fmt.Errorf("item %s: %w", id, err)
	}
	return *it, nil
}

// ItemVersion returns version n of item id as it was written. Its Status
// is meaningless (versions are written as drafts); the history says what
// happened to it.
func (s *Store) ItemVersion(ctx context.Context, account, id string, n int) (Item, error) {
	it, err := getJSON[Item](ctx, s.rdb, keysFor(account).version(id, n))
	if err != nil {
		return Item{}, fmt.Errorf("item %s version %d: %w", id, n, err)
	}
	return *it, nil
}

// History returns the transitions of item id, oldest first.
func (s *Store) History(ctx context.Context, account, id string) ([]Transition, error) {
	h, err := history(ctx, s.rdb, keysFor(account), id)
	if err != nil {
		return nil, fmt.Errorf("history of item %s: %w", id, err)
	}
	return h, nil
}

func history(ctx context.Context, c redis.Cmdable, k keys, id string) ([]Transition, error) {
	raw, err := c.LRange(ctx, k.history(id), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Transition, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal([]byte(r), &out[i]); err != nil {
			return nil, fmt.Errorf("decode transition %d: %w", i, err)
		}
	}
	return out, nil
}

// ItemFilter selects items for the admin list. Empty fields select all;
// group, town and topic match the way targeting does (an item for
// everyone matches any group).
type ItemFilter struct {
	Status Status
	Group  string
	Town   string
	Topic  string
	Limit  int // 0: all
	Offset int
}

// Items lists items matching f, newest first, and how many matched in all.
func (s *Store) Items(ctx context.Context, account string, f ItemFilter) ([]Item, int, error) {
	k := keysFor(account)
	var ids []string
	var err error
	if f.Status != "" {
		ids, err = s.rdb.SMembers(ctx, k.status(f.Status)).Result()
	} else {
		ids, err = s.rdb.ZRange(ctx, k.all(kindItem), 0, -1).Result()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("list items: %w", err)
	}
	slices.SortFunc(ids, func(a, b string) int { return int(idNumber(kindItem, b) - idNumber(kindItem, a)) })
	items, err := mgetJSON[Item](ctx, s.rdb, ids, func(id string) string { return k.record(kindItem, id) })
	if err != nil {
		return nil, 0, fmt.Errorf("list items: %w", err)
	}
	var topics []string
	if f.Topic != "" {
		topics = []string{f.Topic}
	}
	matched := items[:0]
	for _, it := range items {
		if (f.Status == "" || it.Status == f.Status) && it.Audience.Matches(f.Group, f.Town, topics) {
			matched = append(matched, it)
		}
	}
	return page(matched, f.Offset, f.Limit), len(matched), nil
}

func page[T any](list []T, offset, limit int) []T {
	if offset >= len(list) {
		return []T{}
	}
	list = list[max(offset, 0):]
	if limit > 0 && limit < len(list) {
		list = list[:limit]
	}
	return list
}

// Query asks for the items a subscriber may receive. Empty Group or Town
// and no Topics mean "any"; a zero At means now.
type Query struct {
	Group  string
	Town   string
	Topics []string
	At     time.Time
}

// Published returns the published items valid at q.At whose audience
// includes q, by priority (highest first) then id. It reads the indexes
// in one round trip and the items in a second.
func (s *Store) Published(ctx context.Context, account string, q Query) ([]Item, error) {
	at := q.At
	if at.IsZero() {
		at = s.now()
	}
	k := keysFor(account)
	pipe := s.rdb.Pipeline()
	var sets []*redis.StringSliceCmd
	if q.Group != "" {
		sets = append(sets, pipe.SUnion(ctx, k.pubGroup(q.Group), k.pubGroup(everyone)))
	}
	if q.Town != "" {
		sets = append(sets, pipe.SUnion(ctx, k.pubTown(q.Town), k.pubTown(everyone)))
	}
	if len(q.Topics) > 0 {
		tk := []string{k.pubTopic(everyone)}
		for _, t := range q.Topics {
			tk = append(tk, k.pubTopic(t))
		}
		sets = append(sets, pipe.SUnion(ctx, tk...))
	}
	valid := pipe.ZRangeByScore(ctx, k.pubUntil(), &redis.ZRangeBy{Min: strconv.FormatInt(at.Unix(), 10), Max: "+inf"})
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("published items: %w", err)
	}
	ids := valid.Val()
	for _, set := range sets {
		in := make(map[string]bool, len(set.Val()))
		for _, id := range set.Val() {
			in[id] = true
		}
		ids = slices.DeleteFunc(ids, func(id string) bool { return !in[id] })
	}
	items, err := mgetJSON[Item](ctx, s.rdb, ids, func(id string) string { return k.record(kindItem, id) })
	if err != nil {
		return nil, fmt.Errorf("published items: %w", err)
	}
	items = slices.DeleteFunc(items, func(it Item) bool {
		return !it.Deliverable(at) || !it.Audience.Matches(q.Group, q.Town, q.Topics)
	})
	slices.SortFunc(items, func(a, b Item) int {
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		return int(idNumber(kindItem, a.ID) - idNumber(kindItem, b.ID))
	})
	return items, nil
}

// Deliverable re-reads item id and reports whether it may be delivered at
// at: the last check before a send, since the item may have been retired
// after it was picked.
func (s *Store) Deliverable(ctx context.Context, account, id string, at time.Time) (bool, error) {
	it, err := s.Item(ctx, account, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return it.Deliverable(at), nil
}

// RetiredSince returns the ids of items retired at or after since, so the
// delivery engine can send corrections to those who received them.
func (s *Store) RetiredSince(ctx context.Context, account string, since time.Time) ([]string, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, keysFor(account).retired(),
		&redis.ZRangeBy{Min: strconv.FormatInt(since.Unix(), 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("retired items: %w", err)
	}
	return ids, nil
}

// getJSON reads and decodes one JSON value; a missing key is ErrNotFound.
func getJSON[T any](ctx context.Context, c redis.Cmdable, key string) (*T, error) {
	b, err := c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, nil
}

func setJSON(ctx context.Context, p redis.Pipeliner, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	p.Set(ctx, key, b, 0)
	return nil
}

// mgetBatch bounds one MGET.
const mgetBatch = 500

// mgetJSON reads the records of ids (keys from key), skipping missing ones.
func mgetJSON[T any](ctx context.Context, c redis.Cmdable, ids []string, key func(string) string) ([]T, error) {
	out := make([]T, 0, len(ids))
	for chunk := range slices.Chunk(ids, mgetBatch) {
		ks := make([]string, len(chunk))
		for i, id := range chunk {
			ks[i] = key(id)
		}
		vals, err := c.MGet(ctx, ks...).Result()
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue
			}
			var x T
			if err := json.Unmarshal([]byte(s), &x); err != nil {
				return nil, fmt.Errorf("decode %s: %w", ks[i], err)
			}
			out = append(out, x)
		}
	}
	return out, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
