package profile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNonceReused is returned by ClaimNonce when a signed request's
// timestamp and nonce already carried a different message: a captured
// signature replayed with a forged body.
var ErrNonceReused = errors.New("nonce already used by another message")

var timestampRE = regexp.MustCompile(`^-?[0-9]{1,19}$`)

// ValidNonce reports whether nonce may name a webhook request in Redis.
// WeChat's nonces are decimal digits; letters, digits, _ . and - are
// allowed (never braces, colons or spaces).
func ValidNonce(nonce string) bool { return validName(nonce, 64, true, "_.-") }

// ClaimNonce records that the webhook request signed with (timestamp,
// nonce) carries the message msgKey, for ttl. The same pair with the same
// message again (WeChat's retry, or a replay that the dedup record
// answers) is allowed; with another message it is ErrNonceReused. Only a
// digest of msgKey is kept: the record names nobody. One round trip, one
// command: SET NX GET (Redis >= 7.0); an older Redis refuses NX with GET
// as a syntax error, and the store then claims with MULTI/SETNX/GET/EXEC
// from then on.
func (s *Store) ClaimNonce(ctx context.Context, account, timestamp, nonce, msgKey string, ttl time.Duration) error {
	if !ValidAccount(account) || !ValidNonce(nonce) || !timestampRE.MatchString(timestamp) {
		return ErrNonceReused
	}
	sum := sha256.Sum256([]byte(msgKey))
	digest := hex.EncodeToString(sum[:12])
	key := nonceKey(account, timestamp, nonce)
	var got string
	var err error
	if !s.noSetNXGet.Load() {
		got, err = s.rdb.SetArgs(ctx, key, digest, redis.SetArgs{Mode: "NX", TTL: ttl, Get: true}).Result()
		if errors.Is(err, redis.Nil) {
			return nil // claimed now
		}
		if err != nil && isSyntaxError(err) {
			s.noSetNXGet.Store(true)
		}
	}
	if s.noSetNXGet.Load() {
		got, err = s.claimNonceMulti(ctx, key, digest, ttl)
	}
	if err != nil {
		return fmt.Errorf("claim nonce: %w", err)
	}
	if got != digest {
		return ErrNonceReused
	}
	return nil
}

// claimNonceMulti is ClaimNonce's claim on a Redis older than 7.0: the
// record under key after setting it to digest unless it exists.
func (s *Store) claimNonceMulti(ctx context.Context, key, digest string, ttl time.Duration) (string, error) {
	var got *redis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, key, digest, ttl)
		got = p.Get(ctx, key)
		return nil
	})
	return got.Val(), err
}

// isSyntaxError reports whether Redis refused a command as malformed
// (e.g. an option this version does not know), not for a failure.
func isSyntaxError(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "ERR syntax error")
}
