package profile

import "context"

// SetSplitLoad sets the mean entries per openid bucket at which a shard's
// next bucket splits (openidSplitLoad by default), for measurements.
func SetSplitLoad(s *Store, n int) { s.splitLoad = n }

// OpenIDBucketState returns the openid bucket state of a shard as stored
// ("" when absent: the 1,024 buckets of level 10).
func OpenIDBucketState(s *Store, account string, shard int) string {
	v, _ := s.rdb.Get(context.Background(), bucketStateKey(shardTag(account, shard))).Result()
	return v
}
