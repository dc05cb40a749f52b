package console

import (
	"context"
	"strconv"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/zengcheng-kexie/kepubot/content"
)

// A diff between two versions of an item, field by field, character by
// character with semantic cleanup: Chinese has no spaces, so a word diff
// would see each sentence as one word, and a raw character diff shreds
// it; the cleanup merges the pieces into changes a reader follows.

// diffSeg is a run of text that is the same in both versions ("eq"),
// only in the newer ("ins") or only in the older ("del").
type diffSeg struct {
	Op   string
	Text string
}

// fieldDiff is one field that differs.
type fieldDiff struct {
	Label string
	Long  bool // shown as a block (the body)
	Segs  []diffSeg
}

// versionDiff compares version A (older) with version B.
type versionDiff struct {
	A, B   int
	Fields []fieldDiff
}

// diffItem compares versions a and b of it (fetched through the API
// unless one is the current version).
func (c *Console) diffItem(ctx context.Context, s *Session, it itemDoc, a, b int) (versionDiff, error) {
	get := func(n int) (content.Item, error) {
		if n == it.Version {
			return it.Item, nil
		}
		v, err := c.getItem(ctx, s, it.ID, n)
		return v.Item, err
	}
	old, err := get(a)
	if err != nil {
		return versionDiff{}, err
	}
	nu, err := get(b)
	if err != nil {
		return versionDiff{}, err
	}
	return versionDiff{A: a, B: b, Fields: diffFields(c.itemFields(old), c.itemFields(nu))}, nil
}

type labeled struct {
	label, value string
	long         bool
}

// itemFields is what an editor wrote in an item, as a reviewer reads it.
func (c *Console) itemFields(it content.Item) []labeled {
	priority := strconv.Itoa(it.Priority)
	return []labeled{
		{"标题", it.Title, false},
		{"摘要", it.Summary, false},
		{"简短版", it.Short, false},
		{"正文", it.Body, true},
		{"链接", it.URL, false},
		{"封面", it.CoverURL, false},
		{"话题", c.topicNames(it.Topics), false},
		{"人群", c.groupNames(it.Groups), false},
		{"镇街", c.townNames(it.Towns), false},
		{"月份", monthNames(it.Season.Months), false},
		{"节气", strings.Join(it.Season.SolarTerms, "、"), false},
		{"优先级", priority, false},
		{"生效时间", c.inputTime(it.ValidFrom), false},
		{"失效时间", c.inputTime(it.ValidUntil), false},
		{"来源", it.Source, false},
		{"出处", it.Citation, false},
		{"作者", it.Author, false},
	}
}

// diffFields returns the fields whose values differ, with their diffs.
func diffFields(old, nu []labeled) []fieldDiff {
	var out []fieldDiff
	for i := range nu {
		if old[i].value == nu[i].value {
			continue
		}
		out = append(out, fieldDiff{Label: nu[i].label, Long: nu[i].long, Segs: diffText(old[i].value, nu[i].value)})
	}
	return out
}

// diffText diffs two texts character by character, cleaned up for
// people to read.
func diffText(old, nu string) []diffSeg {
	dmp := diffmatchpatch.New()
	ds := dmp.DiffCleanupSemantic(dmp.DiffMain(old, nu, false))
	out := make([]diffSeg, 0, len(ds))
	for _, d := range ds {
		op := "eq"
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			op = "ins"
		case diffmatchpatch.DiffDelete:
			op = "del"
		}
		out = append(out, diffSeg{Op: op, Text: d.Text})
	}
	return out
}
