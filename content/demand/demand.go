// Package demand is the demand log: what residents ask the bot, by group
// and town, day by day — the plan's 需求跟踪分析 (tracking what the public
// wants). It keeps counts of words, never who asked.
package demand

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Log counts searched words per day in Redis sorted sets:
//
//	kb:{<acct>:demand}:<yyyymmdd>:all           word → searches that day
//	kb:{<acct>:demand}:<yyyymmdd>:g:<group>     the same, by group
//	kb:{<acct>:demand}:<yyyymmdd>:t:<town>      the same, by town
//
// Keys expire after Keep.
type Log struct {
	rdb redis.UniversalClient
	loc *time.Location
}

// Keep is how long daily counts are kept.
const Keep = 400 * 24 * time.Hour

// New returns a demand log; days are calendar days in loc.
func New(rdb redis.UniversalClient, loc *time.Location) *Log {
	if loc == nil {
		loc = time.UTC
	}
	return &Log{rdb: rdb, loc: loc}
}

// Day is t's calendar day in the log's time zone, as 2006-01-02.
func (l *Log) Day(t time.Time) string { return t.In(l.loc).Format("2006-01-02") }

func key(account string, day time.Time, dim string) string {
	return "kb:{" + account + ":demand}:" + day.Format("20060102") + ":" + dim
}

// MinWordRunes is the shortest word the log counts. A single character
// the segmenter splits off (防 of 防诈骗, 迟 of 迟菜心, 蒂 of 荔枝蒂蛀虫)
// says nothing about what people want on the 群众需求 page.
const MinWordRunes = 2

// Record counts one search of words by a subscriber of group and town
// (either may be empty) at t. Words shorter than MinWordRunes characters
// are not counted.
func (l *Log) Record(ctx context.Context, account string, words []string, group, town string, t time.Time) error {
	words = longWords(words)
	if len(words) == 0 {
		return nil
	}
	day := t.In(l.loc)
	dims := []string{"all"}
	if group != "" {
		dims = append(dims, "g:"+group)
	}
	if town != "" {
		dims = append(dims, "t:"+town)
	}
	_, err := l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, d := range dims {
			k := key(account, day, d)
			for _, w := range words {
				p.ZIncrBy(ctx, k, 1, w)
			}
			p.Expire(ctx, k, Keep)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("demand log: %w", err)
	}
	return nil
}

// longWords returns the words of at least MinWordRunes characters, in a
// new slice (the caller's is left alone).
func longWords(words []string) []string {
	var out []string
	for _, w := range words {
		if utf8.RuneCountInString(w) >= MinWordRunes {
			out = append(out, w)
		}
	}
	return out
}

// Count is a word and how often it was searched.
type Count struct {
	Word  string `json:"word"`
	Count int64  `json:"count"`
}

// Top returns the n most searched words over the days [from, to], for one
// group or town (dim "all", "g:<group>" or "t:<town>").
func (l *Log) Top(ctx context.Context, account, dim string, from, to time.Time, n int) ([]Count, error) {
	var keys []string
	for d := from.In(l.loc); !d.After(to.In(l.loc)); d = d.AddDate(0, 0, 1) {
		keys = append(keys, key(account, d, dim))
		if len(keys) > 366 {
			break
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	// All keys share the account's demand tag: one ZUNION on one slot.
	zs, err := l.rdb.ZUnionWithScores(ctx, redis.ZStore{Keys: keys}).Result()
	if err != nil {
		return nil, fmt.Errorf("demand top: %w", err)
	}
	out := make([]Count, 0, min(n, len(zs)))
	for _, z := range zs {
		out = append(out, Count{Word: fmt.Sprint(z.Member), Count: int64(z.Score)})
	}
	// ZUNION returns ascending scores.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}
