package profile

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed scripts/count.lua
var countLua string

var countScript = redis.NewScript(countLua)

// Program is a segment compiled to reverse Polish notation over index
// names, evaluated inside Redis (see scripts/count.lua). Build one with
// Term, And, Or and Not; the zero Program means every subscriber.
type Program []string

// Term is the segment of subscribers in the named index (e.g.
// GroupIndex("farmer")).
func Term(index string) Program { return Program{"k:" + index} }

// And intersects segments. An empty Program means everyone, so it drops
// out of an intersection.
func And(ps ...Program) Program { return join("&", ps) }

// Or unites segments. An empty Program (everyone) makes the union everyone.
func Or(ps ...Program) Program {
	for _, p := range ps {
		if len(p) == 0 {
			return nil
		}
	}
	return join("|", ps)
}

// Not is every subscriber outside p.
func Not(p Program) Program { return append(append(Program{}, p...), "!") }

// Reachable is the segment pushes may go to: subscribed and not opted out.
func Reachable() Program { return Term(IndexReachable) }

// join emits one n-ary operator ("&3"): one BITOP for the whole list.
// Operands that are themselves op-lists are flattened into it, and empty
// operands (everyone) are left out.
func join(op string, ps []Program) Program {
	var out Program
	n := 0
	for _, p := range ps {
		if len(p) == 0 {
			continue
		}
		if k, ok := opArity(p[len(p)-1], op); ok {
			out = append(out, p[:len(p)-1]...)
			n += k
			continue
		}
		out = append(out, p...)
		n++
	}
	if n > 1 {
		out = append(out, op+strconv.Itoa(n))
	}
	return out
}

// opArity reports whether token is op with its operand count ("&3" → 3).
func opArity(token, op string) (int, bool) {
	if len(token) < 2 || token[:1] != op {
		return 0, false
	}
	k, err := strconv.Atoi(token[1:])
	return k, err == nil
}

// Counts is the size of a segment, broken down by rows (e.g. towns) and
// optionally by rows × columns (e.g. town × group).
type Counts struct {
	Total int64
	Rows  map[string]int64
	Cells map[string]map[string]int64 // row → column → count
}

// Count sizes prog across every shard of account; rows and cols name
// indexes to break the count down by (either may be empty).
func (s *Store) Count(ctx context.Context, account string, prog Program, rows, cols []string) (Counts, error) {
	return s.eval(ctx, account, prog, rows, cols, "", 0)
}

// Materialize evaluates prog and keeps the result in every shard as the
// index name (a campaign's audience snapshot, so a resumed campaign sends
// to exactly the subscribers it started with). ttl 0 keeps it forever.
func (s *Store) Materialize(ctx context.Context, account string, prog Program, name string, ttl time.Duration) (Counts, error) {
	if name == "" {
		return Counts{}, fmt.Errorf("materialize: empty index name")
	}
	return s.eval(ctx, account, prog, nil, nil, name, ttl)
}

func (s *Store) eval(ctx context.Context, account string, prog Program, rows, cols []string, keep string, ttl time.Duration) (Counts, error) {
	if !ValidAccount(account) {
		return Counts{}, fmt.Errorf("count: invalid account %q", account)
	}
	args := make([]any, 0, 4+len(prog)+len(rows)+len(cols))
	args = append(args, "", len(prog))
	for _, t := range prog {
		args = append(args, t)
	}
	args = append(args, len(rows))
	for _, r := range rows {
		args = append(args, r)
	}
	args = append(args, len(cols))
	for _, c := range cols {
		args = append(args, c)
	}
	args = append(args, keep, int64(ttl/time.Second))
	cmds := make([]*redis.Cmd, Shards)
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for shard := range Shards {
			tag := shardTag(account, shard)
			a := append([]any{tag}, args[1:]...)
			cmds[shard] = countScript.EvalSha(ctx, pipe, []string{seqKey(tag)}, a...)
		}
		return nil
	})
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err := countScript.Load(ctx, s.rdb).Err(); err != nil {
			return Counts{}, fmt.Errorf("count: load script: %w", err)
		}
		return s.eval(ctx, account, prog, rows, cols, keep, ttl)
	}
	if err != nil {
		return Counts{}, fmt.Errorf("count: %w", err)
	}
	out := Counts{Rows: make(map[string]int64, len(rows))}
	if len(cols) > 0 {
		out.Cells = make(map[string]map[string]int64, len(rows))
		for _, r := range rows {
			out.Cells[r] = make(map[string]int64, len(cols))
		}
	}
	for _, cmd := range cmds {
		res, err := cmd.Slice()
		if err != nil {
			return Counts{}, fmt.Errorf("count: %w", err)
		}
		out.Total += res[0].(int64)
		for i, v := range res[1].([]any) {
			out.Rows[rows[i]] += v.(int64)
		}
		for k, v := range res[2].([]any) {
			out.Cells[rows[k/len(cols)]][cols[k%len(cols)]] += v.(int64)
		}
	}
	return out, nil
}

// BitCounts counts the members of each named index over all shards with
// plain BITCOUNTs in one pipeline: no script and no scratch bitmaps, for
// totals that need no intersection (Count intersects with a segment).
func (s *Store) BitCounts(ctx context.Context, account string, indexes []string) (map[string]int64, error) {
	if !ValidAccount(account) {
		return nil, fmt.Errorf("bit counts: invalid account %q", account)
	}
	cmds := make([]*redis.IntCmd, 0, len(indexes)*Shards)
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, ix := range indexes {
			for shard := range Shards {
				cmds = append(cmds, pipe.BitCount(ctx, indexKey(shardTag(account, shard), ix), nil))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bit counts: %w", err)
	}
	out := make(map[string]int64, len(indexes))
	for i, cmd := range cmds {
		out[indexes[i/Shards]] += cmd.Val()
	}
	return out, nil
}

// ExpireIndex sets the time to live of index name in every shard of
// account (a materialized snapshot kept longer, or dropped sooner).
func (s *Store) ExpireIndex(ctx context.Context, account, name string, ttl time.Duration) error {
	if !ValidAccount(account) {
		return fmt.Errorf("expire index: invalid account %q", account)
	}
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for shard := range Shards {
			pipe.Expire(ctx, indexKey(shardTag(account, shard), name), ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("expire index %s: %w", name, err)
	}
	return nil
}
