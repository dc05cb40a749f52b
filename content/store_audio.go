package content

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Audio is an item's voice recording, sent to elder-mode subscribers as a
// WeChat voice message. It is kept beside the item, not in its versions:
// replacing it does not change what reviewers approved of the text.
type Audio struct {
	Format   string        `json:"format"` // mp3 or amr
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"`
	SHA      string        `json:"sha256"` // of Data: names the upload to WeChat
	Size     int           `json:"size"`
	Data     []byte        `json:"-"`
}

// SetAudio stores a (checked) recording for item id, replacing any.
func (s *Store) SetAudio(ctx context.Context, account, id, format string, d time.Duration, data []byte) (Audio, error) {
	k := keysFor(account)
	h := sha256.Sum256(data)
	a := Audio{Format: format, Duration: d, Seconds: d.Seconds(), SHA: hex.EncodeToString(h[:]), Size: len(data), Data: data}
	err := s.txn(ctx, func(tx *redis.Tx) error {
		n, err := tx.Exists(ctx, k.record(kindItem, id)).Result()
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, k.audio(id), "format", a.Format, "ms", d.Milliseconds(), "sha", a.SHA, "data", data)
			return nil
		})
		return err
	}, k.record(kindItem, id))
	if err != nil {
		return Audio{}, fmt.Errorf("item %s audio: %w", id, err)
	}
	return a, nil
}

// ItemAudio returns item id's recording, or ErrNotFound when it has none.
func (s *Store) ItemAudio(ctx context.Context, account, id string) (Audio, error) {
	m, err := s.rdb.HGetAll(ctx, keysFor(account).audio(id)).Result()
	if err != nil {
		return Audio{}, fmt.Errorf("item %s audio: %w", id, err)
	}
	if len(m) == 0 {
		return Audio{}, fmt.Errorf("item %s audio: %w", id, ErrNotFound)
	}
	ms, err := strconv.ParseInt(m["ms"], 10, 64)
	if err != nil {
		return Audio{}, fmt.Errorf("item %s audio: %w", id, errors.New("bad duration"))
	}
	d := time.Duration(ms) * time.Millisecond
	return Audio{Format: m["format"], Duration: d, Seconds: d.Seconds(), SHA: m["sha"], Size: len(m["data"]), Data: []byte(m["data"])}, nil
}
