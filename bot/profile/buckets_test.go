package profile

import (
	"context"
	"errors"
	"hash/crc32"
	"hash/fnv"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// shardOpenIDs returns n openids of shard 0 whose bucket before linear
// hashing (FNV-1a % 1024, computed here, not by the package) satisfies keep.
func shardOpenIDs(n int, prefix string, keep func(oldBucket uint32) bool) []string {
	var out []string
	buf := []byte(prefix)
	for i := 0; len(out) < n; i++ {
		b := strconv.AppendInt(buf[:len(prefix)], int64(i), 10)
		if crc32.ChecksumIEEE(b)%Shards != 0 {
			continue
		}
		h := fnv.New32a()
		h.Write(b)
		if keep(h.Sum32() % 1024) {
			out = append(out, string(b))
		}
	}
	return out
}

// setConfig sets a Redis parameter on every node (every master of a
// Cluster) until t ends.
func setConfig(t *testing.T, ctx context.Context, rdb redis.UniversalClient, name, value string) {
	t.Helper()
	set := func(c *redis.Client, v string) error { return c.ConfigSet(ctx, name, v).Err() }
	each := func(v string) error {
		if cc, ok := rdb.(*redis.ClusterClient); ok {
			return cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error { return set(c, v) })
		}
		return set(rdb.(*redis.Client), v)
	}
	old, err := rdb.ConfigGet(ctx, name).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := each(value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { each(old[name]) })
}

func importAll(t *testing.T, ctx context.Context, s *Store, openIDs []string, now time.Time) {
	t.Helper()
	for start := 0; start < len(openIDs); start += 500 {
		var ps []*Profile
		for _, o := range openIDs[start:min(start+500, len(openIDs))] {
			ps = append(ps, farmer(o, now))
		}
		if n, err := s.Import(ctx, "acct", ps); err != nil || n != len(ps) {
			t.Fatalf("import: %d of %d, %v", n, len(ps), err)
		}
	}
}

// checkBuckets checks that every openid is in the bucket the shard's state
// names and the shard has no other entries.
func checkBuckets(t *testing.T, ctx context.Context, s *Store, openIDs []string, wantState string) {
	t.Helper()
	tag := shardTag("acct", 0)
	raw, _ := s.rdb.Get(ctx, bucketStateKey(tag)).Result()
	if raw != wantState {
		t.Fatalf("bucket state %q, want %q", raw, wantState)
	}
	st, err := parseBucketState(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range openIDs {
		if n, err := s.rdb.HExists(ctx, openIDBucketKey(tag, o, st), o).Result(); err != nil || !n {
			t.Fatalf("%s not in its bucket under state %q (%v)", o, raw, err)
		}
	}
	total := int64(0)
	buckets := st.count()
	for b := range buckets + 4 {
		n, err := s.rdb.HLen(ctx, tag+":o:"+strconv.Itoa(int(b))).Result()
		if err != nil {
			t.Fatal(err)
		}
		if b >= buckets && n > 0 {
			t.Errorf("bucket %d past the %d buckets holds %d entries", b, buckets, n)
		}
		total += n
	}
	if total != int64(len(openIDs)) {
		t.Errorf("buckets hold %d entries, want %d", total, len(openIDs))
	}
}

// TestOpenIDBucketsGrow fills a shard written in the layout before linear
// hashing (1,024 buckets, h % 1024), lowers the split load so it splits
// past a level, and reads, spends, updates and erases every kind of
// subscriber — with this Store and with another whose state is stale.
func TestOpenIDBucketsGrow(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, s := f.ctx, f.store
	now := time.Unix(1795000000, 0).UTC()
	all := shardOpenIDs(3300, "oGrow", func(uint32) bool { return true })
	old, grown := all[:600], all[600:]

	importAll(t, ctx, s, old, now)
	tag := shardTag("acct", 0)
	for _, o := range old {
		h := fnv.New32a()
		h.Write([]byte(o))
		if ok, _ := s.rdb.HExists(ctx, tag+":o:"+strconv.Itoa(int(h.Sum32()%1024)), o).Result(); !ok {
			t.Fatalf("%s not at h %% 1024: the layout before linear hashing changed", o)
		}
	}
	checkBuckets(t, ctx, s, old, "")

	// A second replica reads once now and keeps that (absent) state.
	stale, err := NewStore(ctx, s.rdb, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := stale.Get(ctx, "acct", old[0]); err != nil {
		t.Fatal(err)
	}

	// One entry a bucket: every creation past the 1,024th splits one.
	s.splitLoad = 1
	importAll(t, ctx, s, grown, now)
	// 3,300 created: 2,048 buckets of level 11, and 3,300 - 2,048 split.
	checkBuckets(t, ctx, s, all, "11:1252")

	lids := make([]int64, 0, len(all))
	for i, o := range all {
		reader := s
		if i%2 == 0 {
			reader = stale
		}
		p, id, err := reader.Get(ctx, "acct", o)
		if err != nil || p.OpenID != o {
			t.Fatalf("get %s (stale %v): %v", o, i%2 == 0, err)
		}
		lids = append(lids, id.Local)
	}
	stale2, _ := NewStore(ctx, s.rdb, time.UTC)
	ms, err := stale2.Members(ctx, "acct", 0, lids)
	if err != nil || len(ms) != len(all) {
		t.Fatalf("members: %d of %d, %v", len(ms), len(all), err)
	}

	// Spend and update old and new subscribers after the splits, erase some.
	for _, o := range []string{old[1], old[599], grown[0], grown[len(grown)-1]} {
		if err := stale2.Spend(ctx, "acct", o, SpendMessage); err != nil {
			t.Fatal(err)
		}
		if err := stale2.Update(ctx, "acct", o, func(p *Profile) (*Profile, error) {
			p.Group = "worker"
			return p, nil
		}); err != nil {
			t.Fatal(err)
		}
		p, _, err := s.Get(ctx, "acct", o)
		if err != nil || p.MessagesUsed != 1 || p.Group != "worker" {
			t.Fatalf("%s after spend and update: %+v, %v", o, p, err)
		}
	}
	erased := []string{old[2], old[300], grown[5], grown[2000]}
	for _, o := range erased {
		if err := stale.Update(ctx, "acct", o, func(*Profile) (*Profile, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Get(ctx, "acct", o); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get %s after erasure: %v, want ErrNotFound", o, err)
		}
	}
	var kept []string
	for _, o := range all {
		if o != erased[0] && o != erased[1] && o != erased[2] && o != erased[3] {
			kept = append(kept, o)
		}
	}
	checkBuckets(t, ctx, s, kept, "11:1252")
}

// TestOpenIDBucketSplitRewritesHashtable: a bucket that grew past the
// listpack limit (as 1,024 buckets do at ~18 M subscribers an account; the
// limit is lowered here to 16 entries to get there with 24) is a listpack
// again once split.
func TestOpenIDBucketSplitRewritesHashtable(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, s := f.ctx, f.store
	setConfig(t, ctx, s.rdb, "hash-max-listpack-entries", "16")
	now := time.Unix(1795000000, 0).UTC()
	in0 := shardOpenIDs(24, "oBig", func(b uint32) bool { return b == 0 })
	importAll(t, ctx, s, in0, now)
	tag := shardTag("acct", 0)
	if enc, _ := s.rdb.ObjectEncoding(ctx, tag+":o:0").Result(); enc != "hashtable" {
		t.Fatalf("bucket 0 with 24 entries is a %q, want a hashtable to start from", enc)
	}
	s.splitLoad = 0 // every creation splits (two buckets at most)
	extra := shardOpenIDs(1, "oOne", func(b uint32) bool { return b == 5 })
	importAll(t, ctx, s, extra, now)
	checkBuckets(t, ctx, s, append(in0, extra...), "10:2")
	for _, key := range []string{tag + ":o:0", tag + ":o:1024"} {
		n, _ := s.rdb.HLen(ctx, key).Result()
		if enc, _ := s.rdb.ObjectEncoding(ctx, key).Result(); enc != "listpack" || n == 0 || n > 16 {
			t.Errorf("%s after the split: %d entries, %q; want a listpack", key, n, enc)
		}
	}
}

func TestParseBucketState(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"x", "10", "9:0", "10:1024", "10:-1", "32:0", "10:1:2", ":"} {
		if _, err := parseBucketState(bad); err == nil {
			t.Errorf("parseBucketState(%q) succeeded", bad)
		}
	}
	st, err := parseBucketState("11:5")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ h, want uint32 }{{4, 4}, {2048 + 4, 2048 + 4}, {4096 + 4, 4}, {4096 + 2048 + 4, 2048 + 4}, {5, 5}, {2048 + 5, 5}, {4096 + 2047, 2047}} {
		if got := st.bucket(c.h); got != c.want {
			t.Errorf("bucket(%d) under 11:5 = %d, want %d", c.h, got, c.want)
		}
	}
	if got := (bucketState{}).bucket(1024 + 7); got != 7 {
		t.Errorf("absent state: bucket(1031) = %d, want 7", got)
	}
}

// TestOpenIDBucketSplitsSurviveSIGKILL kills a redis-server (AOF, fsync
// always) while every creation splits a bucket, restarts it and checks
// that each entry is in the bucket the state names and none was lost;
// importing everyone again then completes the shard.
func TestOpenIDBucketSplitsSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, redistest.Options{Args: []string{"--appendonly", "yes", "--appendfsync", "always"}})
	ctx := context.Background()
	s, err := NewStore(ctx, srv.Client(t), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	s.splitLoad = 1
	now := time.Unix(1795000000, 0).UTC()
	all := shardOpenIDs(3000, "oKill", func(uint32) bool { return true })
	tag := shardTag("acct", 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for start := 0; start < len(all); start += 50 {
			var ps []*Profile
			for _, o := range all[start : start+50] {
				ps = append(ps, farmer(o, now))
			}
			if _, err := s.Import(ctx, "acct", ps); err != nil {
				return // the server was killed
			}
		}
	}()
	for {
		n, _ := s.rdb.Get(ctx, seqKey(tag)).Int()
		if n > 1500 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.Kill()
	<-done
	srv.Restart(t)
	s2, err := NewStore(ctx, srv.Client(t), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	s2.splitLoad = 1
	raw, _ := s2.rdb.Get(ctx, bucketStateKey(tag)).Result()
	st, err := parseBucketState(raw)
	if err != nil {
		t.Fatal(err)
	}
	seq, _ := s2.rdb.Get(ctx, seqKey(tag)).Int64()
	if seq <= 1500 || uint32(seq) != st.count() {
		t.Fatalf("after the restart: %d created, state %q (%d buckets); want one bucket a creation past 1,024", seq, raw, st.count())
	}
	entries := int64(0)
	for b := range st.count() {
		kv, err := s2.rdb.HGetAll(ctx, tag+":o:"+strconv.Itoa(int(b))).Result()
		if err != nil {
			t.Fatal(err)
		}
		for o := range kv {
			if got := st.bucket(openIDHash(o)); got != b {
				t.Fatalf("%s in bucket %d, its bucket under %q is %d", o, b, raw, got)
			}
		}
		entries += int64(len(kv))
	}
	if entries != seq {
		t.Fatalf("buckets hold %d entries, %d were created", entries, seq)
	}
	importAll(t, ctx, s2, all[seq:], now)
	checkBuckets(t, ctx, s2, all, "11:952")
}
