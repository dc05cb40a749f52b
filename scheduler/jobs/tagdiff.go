package jobs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/content/segment"
)

// diffChunk is how many local ids one read of the bitmaps covers.
const diffChunk = 8192

// skipFor is how long a subscriber who could not be tagged is left alone.
const skipFor = 7 * 24 * time.Hour

// member is one subscriber to tag or untag.
type member struct {
	shard  int
	lid    int64
	openID string
}

// syncSegment syncs one segment's tag: materialize the segment, diff it
// against the tagged bitmap chunk by chunk, and send WeChat the changes in
// calls of at most 50 openids.
func (ts *TagSync) syncSegment(ctx context.Context, client Tagger, account, name string) (SyncResult, error) {
	var r SyncResult
	seg, err := ts.cfg.Segments.Get(ctx, account, name)
	if err != nil {
		return r, err
	}
	id, err := ts.ensureTag(ctx, client, account, name, &r)
	if err != nil {
		return r, err
	}
	r.TagID = id
	prog, err := ts.cfg.Compile(seg.Expr, ts.cfg.Now())
	if err != nil {
		return r, fmt.Errorf("segment %s: %w", name, err)
	}
	counts, err := ts.cfg.Profiles.Materialize(ctx, account, segment.Audience(prog), wantIndex(id), time.Hour)
	if err != nil {
		return r, err
	}
	r.Members = counts.Total
	all, err := ts.rdb.HGetAll(ctx, tagIDsKey(account)).Result()
	if err != nil {
		return r, fmt.Errorf("tag ids: %w", err)
	}
	// Our other tags count against each subscriber's 20.
	names := []string{wantIndex(id), syncedIndex(id), skipIndex(id)}
	for _, v := range all {
		if other, _ := strconv.Atoi(v); other != id {
			names = append(names, syncedIndex(other))
		}
	}
	var adds, removes []member
	flush := func(final bool) error {
		for len(adds) >= tagBatch || (final && len(adds) > 0) {
			n := min(tagBatch, len(adds))
			if err := ts.apply(ctx, account, id, true, adds[:n], client, &r); err != nil {
				return err
			}
			adds = adds[n:]
		}
		for len(removes) >= tagBatch || (final && len(removes) > 0) {
			n := min(tagBatch, len(removes))
			if err := ts.apply(ctx, account, id, false, removes[:n], client, &r); err != nil {
				return err
			}
			removes = removes[n:]
		}
		return nil
	}
	for shard := range profile.Shards {
		maxLid, err := ts.cfg.Profiles.MaxLocal(ctx, account, shard)
		if err != nil {
			return r, err
		}
		for from := int64(0); from <= maxLid; from += diffChunk {
			bits, err := ts.cfg.Profiles.Bits(ctx, account, shard, names, from, diffChunk)
			if err != nil {
				return r, err
			}
			var addLids, removeLids, full []int64
			for i := int64(0); i < diffChunk; i++ {
				want, synced, skipped := profile.BitSet(bits[0], i), profile.BitSet(bits[1], i), profile.BitSet(bits[2], i)
				switch {
				case want && !synced && !skipped:
					n := 0
					for _, o := range bits[3:] {
						if profile.BitSet(o, i) {
							n++
						}
					}
					if n >= maxTagsPerUser {
						full = append(full, from+i)
					} else {
						addLids = append(addLids, from+i)
					}
				case synced && !want:
					removeLids = append(removeLids, from+i)
				}
			}
			if len(full) > 0 {
				if err := ts.setBits(ctx, account, skipIndex(id), 1, skipFor, map[int][]int64{shard: full}); err != nil {
					return r, err
				}
				r.SkippedTagLimit += len(full)
			}
			if len(addLids)+len(removeLids) == 0 {
				continue
			}
			ms, err := ts.cfg.Profiles.Members(ctx, account, shard, append(append([]int64{}, addLids...), removeLids...))
			if err != nil {
				return r, err
			}
			openID := make(map[int64]string, len(ms))
			for _, m := range ms {
				openID[m.ID.Local] = m.OpenID
			}
			var erased []int64
			for _, l := range addLids {
				if o, ok := openID[l]; ok {
					adds = append(adds, member{shard: shard, lid: l, openID: o})
				}
			}
			for _, l := range removeLids {
				if o, ok := openID[l]; ok {
					removes = append(removes, member{shard: shard, lid: l, openID: o})
				} else {
					erased = append(erased, l) // WeChat forgets them with the follow
				}
			}
			if len(erased) > 0 {
				if err := ts.setBits(ctx, account, syncedIndex(id), 0, 0, map[int][]int64{shard: erased}); err != nil {
					return r, err
				}
			}
			if err := flush(false); err != nil {
				return r, err
			}
		}
	}
	return r, flush(true)
}

// apply tags (or untags) one batch of at most 50 and records who now has
// the tag. A busy or rate-limited WeChat (-1, 45009, 45011) is retried
// with backoff. When WeChat refuses the batch because of one of its
// members — 45059, a member already has 20 tags; 40003, no longer a
// follower — the batch is halved until the culprits are alone: they are
// recorded and left out, everyone else goes through.
func (ts *TagSync) apply(ctx context.Context, account string, tagID int, add bool, batch []member, client Tagger, r *SyncResult) error {
	ids := make([]string, len(batch))
	for i, m := range batch {
		ids[i] = m.openID
	}
	var err error
	for attempt := 0; ; attempt++ {
		r.Calls++
		if add {
			err = client.TagUsers(ctx, tagID, ids)
		} else {
			err = client.UntagUsers(ctx, tagID, ids)
		}
		c := wechat.Classify(err)
		if (c != wechat.Retry && c != wechat.RateLimited) || attempt >= ts.cfg.Retries {
			break
		}
		t := time.NewTimer(ts.cfg.Backoff(attempt + 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	code, _ := wechat.Code(err)
	switch {
	case err == nil:
		bit := 0
		if add {
			bit = 1
			r.Tagged += len(batch)
		} else {
			r.Untagged += len(batch)
		}
		return ts.setBits(ctx, account, syncedIndex(tagID), bit, 0, byShard(batch))
	case (code == 45059 || code == 40003) && len(batch) > 1:
		half := len(batch) / 2
		if err := ts.apply(ctx, account, tagID, add, batch[:half], client, r); err != nil {
			return err
		}
		return ts.apply(ctx, account, tagID, add, batch[half:], client, r)
	case code == 45059:
		r.SkippedTagLimit++
		return ts.setBits(ctx, account, skipIndex(tagID), 1, skipFor, byShard(batch))
	case code == 40003:
		r.Gone++
		if add {
			return ts.setBits(ctx, account, skipIndex(tagID), 1, skipFor, byShard(batch))
		}
		return ts.setBits(ctx, account, syncedIndex(tagID), 0, 0, byShard(batch))
	}
	op := "untag"
	if add {
		op = "tag"
	}
	return fmt.Errorf("%s %d users with tag %d: %w", op, len(batch), tagID, err)
}

func byShard(ms []member) map[int][]int64 {
	out := map[int][]int64{}
	for _, m := range ms {
		out[m.shard] = append(out[m.shard], m.lid)
	}
	return out
}

func (ts *TagSync) setBits(ctx context.Context, account, index string, bit int, ttl time.Duration, lids map[int][]int64) error {
	for shard, ls := range lids {
		if _, err := ts.cfg.Profiles.SetBits(ctx, account, shard, profile.BitChange{Index: index, Bit: bit, TTL: ttl, Lids: ls}); err != nil {
			return fmt.Errorf("record tag bits %s: %w", index, err)
		}
	}
	return nil
}
