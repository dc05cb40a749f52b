package queue

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// maxBit is the largest bit a Redis string holds (512 MiB).
const maxBit = 1<<32 - 1

// Marks records which effects already happened, one bit per effect in a
// bitmap per scope: "campaign 42 was sent to subscriber 17" is bit 17 of
// scope "camp42". 1.5 M recipients cost under 200 KiB a scope.
//
// Jobs run at least once; a handler makes its effect happen once by
// checking its mark. Mark after the effect (and let the remote side
// deduplicate, e.g. WeChat's client_msg_id) to never skip anyone, or mark
// before it and Unmark on failure to never repeat anyone: between the two
// steps a crash can only repeat (first way) or skip (second way).
type Marks struct {
	rdb redis.UniversalClient
}

// NewMarks returns marks over rdb.
func NewMarks(rdb redis.UniversalClient) *Marks { return &Marks{rdb: rdb} }

func checkBit(scope string, bit int64) error {
	if scope == "" {
		return fmt.Errorf("mark: empty scope")
	}
	if bit < 0 || bit > maxBit {
		return fmt.Errorf("mark %s: bit %d out of range", scope, bit)
	}
	return nil
}

// MarkOnce sets bit of scope and reports whether this call set it (true:
// the first), atomically, so that of two workers racing exactly one wins.
func (m *Marks) MarkOnce(ctx context.Context, scope string, bit int64) (bool, error) {
	if err := checkBit(scope, bit); err != nil {
		return false, err
	}
	old, err := m.rdb.SetBit(ctx, marksKey(scope), bit, 1).Result()
	if err != nil {
		return false, fmt.Errorf("mark %s/%d: %w", scope, bit, err)
	}
	return old == 0, nil
}

// Unmark clears bit of scope, for an effect that failed after MarkOnce.
func (m *Marks) Unmark(ctx context.Context, scope string, bit int64) error {
	if err := checkBit(scope, bit); err != nil {
		return err
	}
	if err := m.rdb.SetBit(ctx, marksKey(scope), bit, 0).Err(); err != nil {
		return fmt.Errorf("unmark %s/%d: %w", scope, bit, err)
	}
	return nil
}

// IsMarked reports whether bit of scope is set.
func (m *Marks) IsMarked(ctx context.Context, scope string, bit int64) (bool, error) {
	if err := checkBit(scope, bit); err != nil {
		return false, err
	}
	v, err := m.rdb.GetBit(ctx, marksKey(scope), bit).Result()
	if err != nil {
		return false, fmt.Errorf("is marked %s/%d: %w", scope, bit, err)
	}
	return v == 1, nil
}

// CountMarked returns how many bits of scope are set.
func (m *Marks) CountMarked(ctx context.Context, scope string) (int64, error) {
	if scope == "" {
		return 0, fmt.Errorf("count marks: empty scope")
	}
	n, err := m.rdb.BitCount(ctx, marksKey(scope), nil).Result()
	if err != nil {
		return 0, fmt.Errorf("count marks %s: %w", scope, err)
	}
	return n, nil
}

// Forget deletes every mark of scope, e.g. when a campaign's records
// expire.
func (m *Marks) Forget(ctx context.Context, scope string) error {
	if err := m.rdb.Del(ctx, marksKey(scope)).Err(); err != nil {
		return fmt.Errorf("forget marks %s: %w", scope, err)
	}
	return nil
}
