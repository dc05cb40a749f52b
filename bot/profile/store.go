package profile

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
)

//go:embed scripts/commit.lua
var commitLua string

//go:embed scripts/buckets.lua
var bucketsLua string

var (
	commitScript = redis.NewScript(bucketsLua + commitLua)
)

// Store keeps profiles and their segment indexes in Redis. It is safe for
// concurrent use by many goroutines and many replicas.
type Store struct {
	rdb  redis.UniversalClient
	dict *Dict
	loc  *time.Location
	// cache, when enabled, holds the profile and dialog this replica last
	// wrote or read for a subscriber, so the next message of a conversation
	// skips the read round trip. It is never trusted: the commit script
	// compares it with Redis and answers a conflict with the fresh state.
	cache *lru.Cache[string, cachedSubscriber]
	// noSetNXGet is set once Redis refused SET NX GET (older than 7.0):
	// ClaimNonce then claims with a transaction.
	noSetNXGet atomic.Bool
	// buckets holds the openid bucket state (bucketState) last seen of
	// each shard tag (see buckets.go).
	buckets sync.Map
	// splitLoad is openidSplitLoad (tests lower it to split small shards).
	splitLoad int
}

type cachedSubscriber struct {
	raw    string
	dialog []byte
}

// EnableCache keeps up to n recently active subscribers in memory (see
// Store.cache). With a load balancer that routes WeChat's POSTs by their
// openid query parameter, a conversation then costs one Redis round trip
// a message instead of two.
func (s *Store) EnableCache(n int) error {
	c, err := lru.New[string, cachedSubscriber](n)
	if err != nil {
		return err
	}
	s.cache = c
	return nil
}

func cacheKey(account, openID string) string { return account + "\x00" + openID }

// Location returns the district's time zone the store was made with.
func (s *Store) Location() *time.Location { return s.loc }

// NewStore returns a store over rdb. loc is the district's time zone, which
// decides the calendar day of activity bitmaps. It loads the code
// dictionary.
func NewStore(ctx context.Context, rdb redis.UniversalClient, loc *time.Location) (*Store, error) {
	if loc == nil {
		loc = time.UTC
	}
	s := &Store{rdb: rdb, dict: NewDict(rdb), loc: loc, splitLoad: openidSplitLoad}
	if err := s.dict.Load(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Dict returns the store's code dictionary.
func (s *Store) Dict() *Dict { return s.dict }

// ValidAccount reports whether id can name an account in Redis keys:
// ^[a-z0-9_-]{1,32}$.
func ValidAccount(id string) bool { return validName(id, 32, false, "_-") }

// Pseudonym names a subscriber in keys that outlive nothing but a short
// TTL (webhook dedup, chat operation results): 64 bits of the openid's
// SHA-256, so no Redis key name carries an openid past an erasure.
func Pseudonym(openID string) string {
	sum := sha256.Sum256([]byte(openID))
	return hex.EncodeToString(sum[:8])
}

// ValidOpenID reports whether openID has the shape of a WeChat openid
// (28 characters of letters, digits, - and _ today; up to 64 allowed), so
// it can name Redis keys and never carries braces, spaces or markup.
// ^[A-Za-z0-9_-]{1,64}$.
func ValidOpenID(openID string) bool { return validName(openID, 64, true, "_-") }

// Session is one subscriber loaded for handling one inbound message, from
// Begin until Commit.
type Session struct {
	Account string
	OpenID  string
	ID      ID
	// Profile is nil for an openid kepubot has never seen.
	Profile *Profile
	// Dialog is the stored dialog state, nil when none.
	Dialog []byte
	// Erased is set, when Profile is nil, for a subscriber whose data was
	// erased (删除我的数据, or by an admin) within ErasedTTL: they have not
	// agreed to be profiled again yet.
	Erased bool

	// Duplicate is set when another attempt already claimed or answered
	// this message; Reply then holds its stored reply, or is nil while that
	// attempt is still running.
	Duplicate bool
	Reply     []byte

	tag      string
	msgKey   string
	claim    string
	oldBytes string
	lid      string
	// refreshed is set when a failed commit already loaded the current
	// state into the session (Reload then has nothing to do).
	refreshed bool
}

const (
	claimPrefix     = "p:" // claimed by Begin
	lateClaimPrefix = "l:" // claimed by Commit (Begin read the cache)
	replyPrefix     = "r:"
)

// ClaimedLate reports whether the session's message is claimed by Commit
// itself (Begin read the replica's cache, not Redis): no claim in Redis
// can lapse before that commit, however late it comes.
func (sess *Session) ClaimedLate() bool { return strings.HasPrefix(sess.claim, lateClaimPrefix) }

// ReclaimLate makes Commit claim the session's message itself, as for a
// cached subscriber, after Commit found Begin's claim in Redis gone (it
// lapsed: the commit came after claimTTL) or taken. The next Commit then
// records the message if nobody else has, and returns ErrDuplicate if
// another attempt claimed or answered it.
func (sess *Session) ReclaimLate() {
	sess.claim = lateClaimPrefix + nonce()
	sess.Duplicate, sess.Reply = false, nil
}

// Begin loads openid's profile for handling the message msgKey (e.g. its
// MsgId) and claims the message for ttl, in one round trip. When msgKey is
// empty nothing is claimed (for updates that are not inbound messages).
func (s *Store) Begin(ctx context.Context, account, openID, msgKey string, ttl time.Duration) (*Session, error) {
	if !ValidAccount(account) {
		return nil, fmt.Errorf("begin: invalid account %q", account)
	}
	if !ValidOpenID(openID) {
		return nil, fmt.Errorf("begin: invalid openid")
	}
	shard := ShardOf(openID)
	sess := &Session{Account: account, OpenID: openID, tag: shardTag(account, shard), msgKey: msgKey}
	sess.ID.Shard = shard
	if msgKey != "" && s.cache != nil {
		if c, ok := s.cache.Get(cacheKey(account, openID)); ok {
			sess.claim = lateClaimPrefix + nonce()
			if err := s.fill(ctx, sess, c.raw, c.dialog); err == nil {
				return sess, nil
			}
			s.cache.Remove(cacheKey(account, openID))
		}
	}
	if msgKey != "" {
		sess.claim = claimPrefix + nonce()
	}
	return sess, s.load(ctx, sess, ttl)
}

// load claims the message (when sess has a claim) and reads the profile
// and dialog: one MULTI/EXEC round trip on the shard's slot. (A Lua script
// would do the same, but costs ~25 µs more per call inside Redis.)
func (s *Store) load(ctx context.Context, sess *Session, ttl time.Duration) error {
	var claimed *redis.BoolCmd
	var record, profileCmd, dialogCmd, stateCmd *redis.StringCmd
	var goneCmd *redis.IntCmd
	st := s.bucketStateOf(sess.tag)
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		if sess.claim != "" {
			dd := dedupKey(sess.tag, sess.msgKey)
			claimed = pipe.SetNX(ctx, dd, sess.claim, ttl)
			record = pipe.Get(ctx, dd)
		}
		stateCmd = pipe.Get(ctx, bucketStateKey(sess.tag))
		profileCmd = pipe.HGet(ctx, openIDBucketKey(sess.tag, sess.OpenID, st), sess.OpenID)
		dialogCmd = pipe.Get(ctx, dialogKey(sess.tag, sess.OpenID))
		goneCmd = pipe.Exists(ctx, goneKey(sess.tag, sess.OpenID))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("begin: %w", err)
	}
	// A bucket split since this Store last looked: read the profile again
	// from the bucket the state names (the claim, dialog and marker do not
	// depend on it).
	for {
		moved, err := s.learnBucketState(sess.tag, st, stateCmd.Val())
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if !moved {
			break
		}
		st = s.bucketStateOf(sess.tag)
		_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			stateCmd = pipe.Get(ctx, bucketStateKey(sess.tag))
			profileCmd = pipe.HGet(ctx, openIDBucketKey(sess.tag, sess.OpenID, st), sess.OpenID)
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("begin: %w", err)
		}
	}
	sess.Profile, sess.Dialog, sess.lid, sess.oldBytes, sess.ID.Local = nil, nil, "", "", 0
	if claimed != nil && !claimed.Val() {
		sess.Duplicate = true
		if rec := record.Val(); len(rec) >= len(replyPrefix) && rec[:len(replyPrefix)] == replyPrefix {
			sess.Reply = []byte(rec[len(replyPrefix):])
		}
		return nil
	}
	if errors.Is(profileCmd.Err(), redis.Nil) {
		sess.Erased = goneCmd.Val() > 0
		return nil
	}
	var dialog []byte
	if d, err := dialogCmd.Result(); err == nil {
		dialog = []byte(d)
	}
	return s.fill(ctx, sess, profileCmd.Val(), dialog)
}

// fill puts a packed profile (raw; "" for none) and dialog into sess.
func (s *Store) fill(ctx context.Context, sess *Session, raw string, dialog []byte) error {
	sess.Profile, sess.Dialog, sess.lid, sess.oldBytes, sess.ID.Local = nil, dialog, "", raw, 0
	sess.Erased = false
	if raw == "" {
		return nil
	}
	p, lid, err := decode([]byte(raw), s.dict)
	if errors.Is(err, errUnknownCode) {
		// Another replica assigned a code this one has not seen yet.
		if err := s.dict.Load(ctx); err != nil {
			return err
		}
		p, lid, err = decode([]byte(raw), s.dict)
	}
	if err != nil {
		return fmt.Errorf("begin %s/%d: %w", sess.Account, sess.ID.Shard, err)
	}
	sess.ID.Local, sess.lid = lid, strconv.FormatInt(lid, 10)
	p.OpenID = sess.OpenID
	sess.Profile = p
	return nil
}

// Reload reloads the subscriber after ErrConflict, keeping the claim.
func (s *Store) Reload(ctx context.Context, sess *Session) error {
	if sess.refreshed {
		sess.refreshed = false
		return nil
	}
	claim := sess.claim
	sess.claim = ""
	err := s.load(ctx, sess, 0)
	sess.claim = claim
	return err
}

// StoredReply re-reads the dedup record of a duplicate message: the kept
// reply, or nil while the first attempt is still running. done reports
// whether the record is a reply (or gone, so nothing will come).
func (s *Store) StoredReply(ctx context.Context, sess *Session) (reply []byte, done bool, err error) {
	rec, err := s.rdb.Get(ctx, s.dedupKeyOf(sess)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	if len(rec) >= len(replyPrefix) && rec[:len(replyPrefix)] == replyPrefix {
		return []byte(rec[len(replyPrefix):]), true, nil
	}
	return nil, false, nil
}

// Outcome is what handling a message decided.
type Outcome struct {
	// Profile is the new profile; nil erases the subscriber (删除我的数据).
	Profile *Profile
	// Dialog is the new dialog state; nil deletes it. Ignored when
	// KeepDialog is set.
	Dialog     []byte
	KeepDialog bool
	DialogTTL  time.Duration
	// Reply is kept for WeChat's retries of the same message.
	Reply    []byte
	ReplyTTL time.Duration
}

// Commit applies out atomically: profile, indexes, dialog and kept reply.
// It returns ErrConflict when the subscriber changed since Begin (Reload
// and handle again) and ErrDuplicate when another attempt owns the message.
func (s *Store) Commit(ctx context.Context, sess *Session, out Outcome) error {
	if sess.Duplicate {
		return ErrDuplicate
	}
	var newBytes []byte
	if out.Profile != nil {
		if err := s.dict.ensureProfile(ctx, out.Profile); err != nil {
			return err
		}
		var err error
		if newBytes, err = encode(out.Profile, sess.ID.Local, s.dict); err != nil {
			return err
		}
	}
	dialogMode := "del"
	switch {
	case out.KeepDialog, out.Dialog == nil && sess.Dialog == nil:
		// Kept, or none before and none after: nothing to write (a
		// redis.call less in the commit script).
		dialogMode = "keep"
	case out.Dialog != nil:
		dialogMode = "set"
	}
	changes := s.indexChanges(sess.Profile, out.Profile)
	// Someone who unfollowed cannot write to the account until they follow
	// again, which profiles them anew: erasing them (the retention job)
	// keeps no marker.
	marker := int64(ErasedTTL / time.Second)
	if sess.Profile != nil && !sess.Profile.Subscribed {
		marker = 0
	}
	args := make([]any, 0, 15+3*len(changes))
	args = append(args, sess.tag, sess.OpenID, sess.claim, sess.lid, sess.oldBytes, newBytes,
		append([]byte(replyPrefix), out.Reply...), max(out.ReplyTTL.Milliseconds(), 1),
		dialogMode, out.Dialog, max(out.DialogTTL.Milliseconds(), 1), marker,
		openIDHash(sess.OpenID), s.splitLoad, len(changes))
	for _, c := range changes {
		args = append(args, c.index, c.bit, c.ttl)
	}
	keys := []string{bucketStateKey(sess.tag), s.dedupKeyOf(sess), goneKey(sess.tag, sess.OpenID)}
	res, err := commitScript.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	switch res[0] {
	case "dup":
		return ErrDuplicate
	case "conflict":
		raw, _ := res[1].(string)
		var dialog []byte
		if d, ok := res[2].(string); ok {
			dialog = []byte(d)
		}
		if err := s.fill(ctx, sess, raw, dialog); err != nil {
			return err
		}
		if gone, _ := res[3].(int64); raw == "" && gone > 0 {
			sess.Erased = true
		}
		sess.refreshed = true
		return ErrConflict
	}
	lid, _ := res[1].(int64)
	sess.ID.Local, sess.lid = lid, strconv.FormatInt(lid, 10)
	sess.oldBytes = "" // the session is spent: Reload before another Commit
	if s.cache != nil && sess.msgKey == "" {
		// Not a message (an admin's edit or erasure, Update): this
		// replica's copy is stale now.
		s.cache.Remove(cacheKey(sess.Account, sess.OpenID))
	}
	if s.cache != nil && sess.msgKey != "" {
		key := cacheKey(sess.Account, sess.OpenID)
		if newBytes == nil {
			s.cache.Remove(key)
		} else {
			binary.BigEndian.PutUint32(newBytes[lidOffset:], uint32(lid))
			dialog := out.Dialog
			if out.KeepDialog {
				dialog = sess.Dialog
			}
			s.cache.Add(key, cachedSubscriber{raw: string(newBytes), dialog: dialog})
		}
	}
	return nil
}

// Get returns openid's profile and id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, account, openID string) (*Profile, ID, error) {
	sess, err := s.Begin(ctx, account, openID, "", 0)
	if err != nil {
		return nil, ID{}, err
	}
	if sess.Profile == nil {
		return nil, ID{}, ErrNotFound
	}
	return sess.Profile, sess.ID, nil
}

// Update changes openid's profile outside any inbound message (admin and
// delivery bookkeeping), retrying on concurrent changes. fn gets a copy it
// may change; a nil profile means the openid is unknown, and fn returning a
// nil profile erases it. fn may run more than once.
func (s *Store) Update(ctx context.Context, account, openID string, fn func(p *Profile) (*Profile, error)) error {
	sess, err := s.Begin(ctx, account, openID, "", 0)
	if err != nil {
		return err
	}
	for range 50 {
		p, err := fn(sess.Profile.Clone())
		if err != nil {
			return err
		}
		err = s.Commit(ctx, sess, Outcome{Profile: p, KeepDialog: p != nil})
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if err := s.Reload(ctx, sess); err != nil {
			return err
		}
	}
	return fmt.Errorf("update %s: %w after 50 tries", account, ErrConflict)
}

func (s *Store) dedupKeyOf(sess *Session) string {
	if sess.msgKey == "" {
		// Scripts need a key of the tag in KEYS[2]; this one is never written.
		return seqKey(sess.tag)
	}
	return dedupKey(sess.tag, sess.msgKey)
}

func nonce() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
