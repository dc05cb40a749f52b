package quiz

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Every Redis key of the package is built here. All the data of one
// competition shares one hash tag, so each script runs on one Redis
// Cluster slot:
//
//	kb:{<acct>:quiz:<comp>}:starts      hash openid → "n|msgkey|startedms" (attempts used)
//	kb:{<acct>:quiz:<comp>}:seen        hash openid → n, the last attempt answered at least once
//	kb:{<acct>:quiz:<comp>}:who         hash openid → "town|group" when first seen ("-" unknown)
//	kb:{<acct>:quiz:<comp>}:res         hash "openid|n" → Result JSON, written once per attempt
//	kb:{<acct>:quiz:<comp>}:lb          ZSET openid → encoded best score (overall board)
//	kb:{<acct>:quiz:<comp>}:lb:t:<town> the same for one town
//	kb:{<acct>:quiz:<comp>}:lb:g:<grp>  the same for one group
//	kb:{<acct>:quiz:<comp>}:pass        SET of openids at or above the pass mark
//	kb:{<acct>:quiz:<comp>}:cnt         hash of counters: p, c, ok (participants, completed,
//	                                    passed), each also as p:t:<town>, p:g:<group>, ...
//	kb:{<acct>:quiz}:comps              SET of competitions with data (for erasure)
//	kb:{<acct>:quiz}:rl:<openid>:<min>  rate counter of 排行 per minute
type keys struct{ tag string }

func keysFor(account, comp string) keys { return keys{tag: "kb:{" + account + ":quiz:" + comp + "}"} }

func (k keys) starts() string             { return k.tag + ":starts" }
func (k keys) who() string                { return k.tag + ":who" }
func (k keys) seen() string               { return k.tag + ":seen" }
func (k keys) results() string            { return k.tag + ":res" }
func (k keys) board() string              { return k.tag + ":lb" }
func (k keys) townBoard(t string) string  { return k.tag + ":lb:t:" + orDash(t) }
func (k keys) groupBoard(g string) string { return k.tag + ":lb:g:" + orDash(g) }
func (k keys) pass() string               { return k.tag + ":pass" }
func (k keys) counters() string           { return k.tag + ":cnt" }

func compsKey(account string) string { return "kb:{" + account + ":quiz}:comps" }
func rateKey(account, openID string, minute int64) string {
	return "kb:{" + account + ":quiz}:rl:" + openID + ":" + strconv.FormatInt(minute, 10)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var (
	//go:embed scripts/start.lua
	startLua    string
	startScript = redis.NewScript(startLua)
	//go:embed scripts/finish.lua
	finishLua    string
	finishScript = redis.NewScript(finishLua)
)

// scoreBase separates correct answers from time in an encoded score.
const scoreBase = 1e8

// encodeScore packs correct answers and total time into one sorted-set
// score, higher is better: more correct first, then less time. Time is
// capped at scoreBase-1 ms (27 hours); the result stays an exact integer
// in a float64.
func encodeScore(correct int, ms int64) float64 {
	ms = min(max(ms, 0), scoreBase-1)
	return float64(correct)*scoreBase + (scoreBase - 1 - float64(ms))
}

// decodeScore reverses encodeScore.
func decodeScore(v float64) (correct int, ms int64) {
	c := math.Floor(v / scoreBase)
	return int(c), int64(scoreBase - 1 - (v - c*scoreBase))
}

// Answer is one question of a finished attempt: the answer log.
type Answer struct {
	Question string `json:"question"`
	Choice   string `json:"choice"` // letters, "" when the time ran out
	Correct  bool   `json:"correct"`
	Millis   int64  `json:"ms"`
	Late     bool   `json:"late,omitempty"`
	Fast     bool   `json:"fast,omitempty"`
}

// Result is one finished (or quit) attempt.
type Result struct {
	Competition string    `json:"competition"`
	OpenID      string    `json:"openid"`
	Attempt     int       `json:"attempt"`
	Correct     int       `json:"correct"`
	Questions   int       `json:"questions"`
	Millis      int64     `json:"ms"`
	Fast        int       `json:"fast"` // answers flagged as implausibly fast
	Passed      bool      `json:"passed"`
	Quit        bool      `json:"quit,omitempty"`
	Answers     []Answer  `json:"answers"`
	FinishedAt  time.Time `json:"finished_at"`
}

// Standing is where a participant's best attempt ranks.
type Standing struct {
	Correct  int
	Millis   int64
	Rank     int // overall, 1 is best; 0 when unranked
	TownRank int
}

// startAttempt claims attempt n for a participant: the same message
// always gets the same attempt, and so does a later 答题 while attempt n
// was never answered and has no result (its first question may never have
// reached the participant: on a Cluster the claim can be written while
// the dialog's write, on another master, fails, and the participant is
// told to send it again). ok is false when the attempts are used up.
func (s *Store) startAttempt(ctx context.Context, account, comp, openID, msgKey string, attempts int, town, group string, now time.Time) (n int, ok bool, err error) {
	k := keysFor(account, comp)
	res, err := startScript.Run(ctx, s.rdb, []string{k.starts(), k.who(), k.counters(), k.results(), k.seen()},
		openID, msgKey, attempts, orDash(town), orDash(group), now.UnixMilli(), startGrace.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, false, fmt.Errorf("start attempt %s %s: %w", comp, openID, err)
	}
	if err := s.rdb.SAdd(ctx, compsKey(account), comp).Err(); err != nil {
		return 0, false, fmt.Errorf("start attempt %s: %w", comp, err)
	}
	return int(res[1]), res[0] == 1, nil
}

// startGrace is how soon a second 答题 joins the attempt just started,
// even when it was answered already.
const startGrace = 10 * time.Second

// answered marks attempt n as answered at least once (its first answer,
// or its first question timed out): from then on a new 答题 no longer
// joins it once startGrace has passed.
func (s *Store) answered(ctx context.Context, account, comp, openID string, n int) error {
	if err := s.rdb.HSet(ctx, keysFor(account, comp).seen(), openID, n).Err(); err != nil {
		return fmt.Errorf("attempt %s %s: %w", comp, openID, err)
	}
	return nil
}

// finish records r once (keyed by competition, openid and attempt) and
// returns the result as stored (the first call's) and the standing of the
// participant's best attempt.
func (s *Store) finish(ctx context.Context, account string, r Result) (Result, Standing, error) {
	k := keysFor(account, r.Competition)
	b, _ := json.Marshal(r)
	ranked := !r.Quit && len(r.Answers) == r.Questions
	res, err := finishScript.Run(ctx, s.rdb, []string{k.results(), k.who(), k.board(), k.counters(), k.pass()},
		r.OpenID, r.Attempt, b, encodeScore(r.Correct, r.Millis), b2s(r.Passed && ranked), b2s(ranked), k.tag).Slice()
	if err != nil {
		return Result{}, Standing{}, fmt.Errorf("finish attempt %s %s: %w", r.Competition, r.OpenID, err)
	}
	var stored Result
	if str, _ := res[0].(string); json.Unmarshal([]byte(str), &stored) != nil {
		stored = r
	}
	var st Standing
	if best, _ := res[1].(string); best != "" {
		v, _ := strconv.ParseFloat(best, 64)
		st.Correct, st.Millis = decodeScore(v)
		st.Rank = int(res[2].(int64))
		st.TownRank = int(res[3].(int64))
	}
	return stored, st, nil
}

func b2s(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Entry is one line of a leaderboard.
type Entry struct {
	OpenID  string  `json:"openid"`
	Score   int     `json:"score"`   // correct answers
	Seconds float64 `json:"seconds"` // total time, to the millisecond
	Rank    int     `json:"rank"`    // 1 is best; equal score and time share a rank
	Town    string  `json:"town,omitempty"`
	Group   string  `json:"group,omitempty"`
}

// Board selects a leaderboard: overall, a town's, a group's, or a town's
// filtered to one group (both set).
type Board struct {
	Town, Group string
}

// Leaderboard returns the top limit entries of a board (best attempt of
// each participant), ranked by correct answers, then less time.
func (s *Store) Leaderboard(ctx context.Context, account, comp string, b Board, limit int) ([]Entry, error) {
	k := keysFor(account, comp)
	key := k.board()
	switch {
	case b.Town != "":
		key = k.townBoard(b.Town)
	case b.Group != "":
		key = k.groupBoard(b.Group)
	}
	filter := b.Town != "" && b.Group != ""
	stop := int64(limit) - 1
	if filter || limit <= 0 {
		stop = -1
	}
	zs, err := s.rdb.ZRevRangeWithScores(ctx, key, 0, stop).Result()
	if err != nil {
		return nil, fmt.Errorf("leaderboard %s: %w", comp, err)
	}
	ids := make([]string, len(zs))
	for i, z := range zs {
		ids[i] = z.Member.(string)
	}
	who, err := s.whoOf(ctx, k, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, min(len(zs), max(limit, 0)))
	prev, rank := -1.0, 0
	for i, z := range zs {
		w := who[i]
		if filter && w[1] != b.Group {
			continue
		}
		n := len(out) + 1
		if !filter {
			n = i + 1
		}
		if z.Score != prev {
			rank, prev = n, z.Score
		}
		c, ms := decodeScore(z.Score)
		out = append(out, Entry{OpenID: ids[i], Score: c, Seconds: float64(ms) / 1000, Rank: rank, Town: w[0], Group: w[1]})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// whoOf returns [town, group] of each openid ("" when unknown).
func (s *Store) whoOf(ctx context.Context, k keys, ids []string) ([][2]string, error) {
	out := make([][2]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, k.who(), ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("participants: %w", err)
	}
	for i, v := range vals {
		str, _ := v.(string)
		t, g, _ := strings.Cut(str, "|")
		out[i] = [2]string{strings.Trim(t, "-"), strings.Trim(g, "-")}
	}
	return out, nil
}

// standing returns a participant's best result and ranks, Rank 0 when
// they have none.
func (s *Store) standing(ctx context.Context, account, comp, openID string) (Standing, string, error) {
	k := keysFor(account, comp)
	best, err := s.rdb.ZScore(ctx, k.board(), openID).Result()
	if errors.Is(err, redis.Nil) {
		return Standing{}, "", nil
	}
	if err != nil {
		return Standing{}, "", fmt.Errorf("standing %s: %w", comp, err)
	}
	w, err := s.whoOf(ctx, k, []string{openID})
	if err != nil {
		return Standing{}, "", err
	}
	town := w[0][0]
	above := "(" + strconv.FormatFloat(best, 'f', -1, 64)
	var all, local *redis.IntCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.ZCount(ctx, k.board(), above, "+inf")
		local = p.ZCount(ctx, k.townBoard(town), above, "+inf")
		return nil
	})
	if err != nil {
		return Standing{}, "", fmt.Errorf("standing %s: %w", comp, err)
	}
	st := Standing{Rank: int(all.Val()) + 1, TownRank: int(local.Val()) + 1}
	st.Correct, st.Millis = decodeScore(best)
	return st, town, nil
}

// Tally is participation and the literacy indicator for one slice of
// participants (all, a town, a group).
type Tally struct {
	Participants int64   `json:"participants"` // started an attempt
	Completed    int64   `json:"completed"`    // finished all questions at least once
	Passed       int64   `json:"passed"`       // best attempt at or above the pass mark
	PassRate     float64 `json:"pass_rate"`    // Passed / Participants
}

// Stats is a competition's participation and pass rates.
type Stats struct {
	Tally
	ByTown  map[string]Tally `json:"by_town"`
	ByGroup map[string]Tally `json:"by_group"`
}

// Stats returns participation and the literacy indicator (the share of
// participants at or above the pass mark) overall, by town and by group.
// Participants whose town or group was unknown count under "-".
func (s *Store) Stats(ctx context.Context, account, comp string) (Stats, error) {
	m, err := s.rdb.HGetAll(ctx, keysFor(account, comp).counters()).Result()
	if err != nil {
		return Stats{}, fmt.Errorf("stats %s: %w", comp, err)
	}
	out := Stats{ByTown: map[string]Tally{}, ByGroup: map[string]Tally{}}
	for f, v := range m {
		n, _ := strconv.ParseInt(v, 10, 64)
		kind, rest, _ := strings.Cut(f, ":")
		var t *Tally
		var into map[string]Tally
		name := ""
		switch {
		case rest == "":
			t = &out.Tally
		case strings.HasPrefix(rest, "t:"):
			into, name = out.ByTown, rest[2:]
		case strings.HasPrefix(rest, "g:"):
			into, name = out.ByGroup, rest[2:]
		default:
			continue
		}
		var x Tally
		if t == nil {
			x = into[name]
			t = &x
		}
		switch kind {
		case "p":
			t.Participants = n
		case "c":
			t.Completed = n
		case "ok":
			t.Passed = n
		}
		if into != nil {
			into[name] = x
		}
	}
	out.Tally.rate()
	for _, m := range []map[string]Tally{out.ByTown, out.ByGroup} {
		for k, t := range m {
			t.rate()
			m[k] = t
		}
	}
	return out, nil
}

func (t *Tally) rate() {
	if t.Participants > 0 {
		t.PassRate = float64(t.Passed) / float64(t.Participants)
	}
}

// Results calls fn with every recorded attempt of a competition, in no
// particular order, with the participant's town and group.
func (s *Store) Results(ctx context.Context, account, comp string, fn func(r Result, town, group string) error) error {
	k := keysFor(account, comp)
	who, err := s.rdb.HGetAll(ctx, k.who()).Result()
	if err != nil {
		return fmt.Errorf("results %s: %w", comp, err)
	}
	iter := s.rdb.HScan(ctx, k.results(), 0, "", 500).Iterator()
	for iter.Next(ctx) {
		if !iter.Next(ctx) { // HSCAN yields field, value pairs
			break
		}
		var r Result
		if json.Unmarshal([]byte(iter.Val()), &r) != nil {
			continue
		}
		t, g, _ := strings.Cut(who[r.OpenID], "|")
		if err := fn(r, strings.Trim(t, "-"), strings.Trim(g, "-")); err != nil {
			return err
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("results %s: %w", comp, err)
	}
	return nil
}

// Erase removes a subscriber from every competition's boards, results and
// participant lists (删除我的数据). Aggregate counters keep their counts:
// they hold no personal data.
func (s *Store) Erase(ctx context.Context, account, openID string) error {
	comps, err := s.rdb.SMembers(ctx, compsKey(account)).Result()
	if err != nil {
		return fmt.Errorf("erase quiz data: %w", err)
	}
	for _, c := range comps {
		k := keysFor(account, c)
		w, err := s.whoOf(ctx, k, []string{openID})
		if err != nil {
			return err
		}
		n, err := s.attemptsUsed(ctx, k, openID)
		if err != nil {
			return err
		}
		_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZRem(ctx, k.board(), openID)
			p.ZRem(ctx, k.townBoard(w[0][0]), openID)
			p.ZRem(ctx, k.groupBoard(w[0][1]), openID)
			p.SRem(ctx, k.pass(), openID)
			p.HDel(ctx, k.who(), openID)
			p.HDel(ctx, k.starts(), openID)
			p.HDel(ctx, k.seen(), openID)
			for i := 1; i <= n; i++ {
				p.HDel(ctx, k.results(), openID+"|"+strconv.Itoa(i))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("erase quiz data of %s: %w", c, err)
		}
	}
	return nil
}

func (s *Store) attemptsUsed(ctx context.Context, k keys, openID string) (int, error) {
	v, err := s.rdb.HGet(ctx, k.starts(), openID).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("attempts: %w", err)
	}
	n, _, _ := strings.Cut(v, "|")
	return strconv.Atoi(n)
}

// allowRank counts one 排行 request and reports whether the participant
// is within limit a minute.
func (s *Store) allowRank(ctx context.Context, account, openID string, now time.Time, limit int) (bool, error) {
	key := rateKey(account, openID, now.Unix()/60)
	var n *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		n = p.Incr(ctx, key)
		p.Expire(ctx, key, 2*time.Minute)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("rate limit: %w", err)
	}
	return n.Val() <= int64(limit), nil
}

// Store keeps attempts, results, leaderboards and counters in Redis.
type Store struct {
	rdb redis.UniversalClient
}

// NewStore returns a store on rdb.
func NewStore(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }
