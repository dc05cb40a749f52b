package profile

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Import creates subscribers in bulk (a migration, the demo, benchmarks):
// the same commit script as the webhook, pipelined. An openid that already
// has a profile is left alone. It returns how many were created.
func (s *Store) Import(ctx context.Context, account string, ps []*Profile) (int, error) {
	if !ValidAccount(account) {
		return 0, fmt.Errorf("import: invalid account %q", account)
	}
	for _, p := range ps {
		if err := s.dict.ensureProfile(ctx, p); err != nil {
			return 0, err
		}
	}
	cmds := make([]*redis.Cmd, len(ps))
	// run sends the commit of each profile whose command is nil or failed
	// with NOSCRIPT (on a Cluster a node may lack the script that others
	// had and ran: those are not sent again).
	run := func() error {
		_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i, p := range ps {
				if cmds[i] != nil && !redis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
					continue
				}
				b, err := encode(p, 0, s.dict)
				if err != nil {
					return err
				}
				tag := shardTag(account, ShardOf(p.OpenID))
				changes := s.indexChanges(nil, p)
				args := make([]any, 0, 15+3*len(changes))
				args = append(args, tag, p.OpenID, "", "", "", b, "", 1, "keep", "", 1, int64(ErasedTTL/time.Second),
					openIDHash(p.OpenID), s.splitLoad, len(changes))
				for _, c := range changes {
					args = append(args, c.index, c.bit, c.ttl)
				}
				cmds[i] = commitScript.EvalSha(ctx, pipe, []string{bucketStateKey(tag), seqKey(tag), goneKey(tag, p.OpenID)}, args...)
			}
			return nil
		})
		return err
	}
	err := run()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err := commitScript.Load(ctx, s.rdb).Err(); err != nil {
			return 0, fmt.Errorf("import: load script: %w", err)
		}
		err = run()
	}
	if err != nil {
		return 0, fmt.Errorf("import: %w", err)
	}
	n := 0
	for _, c := range cmds {
		if res, err := c.Slice(); err == nil && res[0] == "ok" {
			n++
		}
	}
	return n, nil
}
