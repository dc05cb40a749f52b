// Package segment is the audience language organizers target campaigns
// with, e.g.
//
//	group:farmer & town:(paitan|zhengguo) & interest:litchi & !opted_out
//
// An expression is parsed against the district taxonomy (Parse), printed
// in a canonical form (Expr.String) and compiled to a profile.Program that
// Redis evaluates over the subscriber indexes (Expr.Compile, Audience).
// Parsing and compiling are pure; the only I/O in the package is the store
// of named, saved segments (store.go).
//
// Grammar (whitespace is free; full-width punctuation such as （）｜＆！：
// reads as its ASCII form):
//
//	expr    = and { ("|" | "||" | "or" | "或") and }
//	and     = unary { ("&" | "&&" | "and" | "且") unary }
//	unary   = ("!" | "not" | "非") unary | "(" expr ")" | term | flag
//	term    = key ":" value | key ":" "(" value { ("|" | ",") value } ")"
//	key     = "group" | "town" | "interest" | "topic" | "source" | "active"
//	flag    = "subscribed" | "opted_out" | "all" | "everyone"
//
// & binds tighter than |, so a | b & c is a | (b & c). Words are
// case-insensitive except source values. Group, town and interest values
// are taxonomy ids, Chinese names, short names or synonyms (town:派潭 is
// town:paitan); source values are QR-code sources; active takes a number
// of days, active:30d, from 1 to profile.ActiveDays. The empty expression
// is everyone.
package segment

import (
	"strconv"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// Keys of terms, in their canonical spelling.
const (
	KeyGroup    = "group"
	KeyTown     = "town"
	KeyInterest = "interest"
	KeySource   = "source"
	KeyActive   = "active"
)

// Flags: terms without a value.
const (
	FlagSubscribed = "subscribed"
	FlagOptedOut   = "opted_out"
	FlagAll        = "all"
)

// Expr is a parsed, validated segment expression. The zero Expr is not
// valid; get one from Parse.
type Expr struct {
	root *node
}

type kind uint8

const (
	kindTerm kind = iota // key:value(s)
	kindFlag             // subscribed, opted_out, all
	kindAnd
	kindOr
	kindNot
)

// node is one node of the expression tree. And and Or nodes have at least
// two kids and never a kid of their own kind (the parser flattens them), so
// String is canonical.
type node struct {
	kind kind
	key  string   // term key or flag name
	vals []string // canonical term values, deduplicated, in order
	kids []*node
}

// String returns the canonical form of e: ids instead of names, single
// spaces around & and |, parentheses only where precedence needs them.
// Parsing it again yields the same string.
func (e *Expr) String() string {
	if e == nil || e.root == nil {
		return FlagAll
	}
	var b strings.Builder
	e.root.write(&b)
	return b.String()
}

func (n *node) write(b *strings.Builder) {
	switch n.kind {
	case kindFlag:
		b.WriteString(n.key)
	case kindTerm:
		b.WriteString(n.key)
		b.WriteByte(':')
		if len(n.vals) == 1 {
			b.WriteString(n.vals[0])
			return
		}
		b.WriteByte('(')
		for i, v := range n.vals {
			if i > 0 {
				b.WriteByte('|')
			}
			b.WriteString(v)
		}
		b.WriteByte(')')
	case kindNot:
		b.WriteByte('!')
		n.kids[0].writeParen(b, n.kids[0].kind == kindAnd || n.kids[0].kind == kindOr)
	case kindAnd, kindOr:
		sep := " & "
		if n.kind == kindOr {
			sep = " | "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			k.writeParen(b, n.kind == kindAnd && k.kind == kindOr)
		}
	}
}

func (n *node) writeParen(b *strings.Builder, paren bool) {
	if paren {
		b.WriteByte('(')
	}
	n.write(b)
	if paren {
		b.WriteByte(')')
	}
}

// Compile turns e into a program over the profile indexes. now and loc
// resolve active:Nd to the activity bitmaps of the last N calendar days in
// the district's time zone (today included). The program selects every
// matching subscriber, reachable or not; pushes go to Audience(program).
func (e *Expr) Compile(now time.Time, loc *time.Location) profile.Program {
	if loc == nil {
		loc = time.UTC
	}
	if e == nil || e.root == nil {
		return profile.Term(profile.IndexAll)
	}
	return e.root.compile(now.In(loc))
}

func (n *node) compile(now time.Time) profile.Program {
	switch n.kind {
	case kindFlag:
		switch n.key {
		case FlagSubscribed:
			return profile.Term(profile.IndexSubscribed)
		case FlagOptedOut:
			return profile.Term(profile.IndexOptedOut)
		}
		return profile.Term(profile.IndexAll)
	case kindNot:
		return profile.Not(n.kids[0].compile(now))
	case kindAnd, kindOr:
		ps := make([]profile.Program, len(n.kids))
		for i, k := range n.kids {
			ps[i] = k.compile(now)
		}
		if n.kind == kindAnd {
			return profile.And(ps...)
		}
		return profile.Or(ps...)
	}
	var ps []profile.Program
	if n.key == KeyActive {
		// A list of windows is the widest of them.
		days := 0
		for _, v := range n.vals {
			d, _ := strconv.Atoi(strings.TrimSuffix(v, "d"))
			days = max(days, d)
		}
		y, m, d := now.Date()
		for i := range days {
			// Noon, so a daylight-saving change never skips or repeats a day.
			ps = append(ps, profile.Term(profile.ActiveIndex(time.Date(y, m, d-i, 12, 0, 0, 0, now.Location()))))
		}
		return profile.Or(ps...)
	}
	index := map[string]func(string) string{
		KeyGroup: profile.GroupIndex, KeyTown: profile.TownIndex,
		KeyInterest: profile.InterestIndex, KeySource: profile.SourceIndex,
	}[n.key]
	for _, v := range n.vals {
		ps = append(ps, profile.Term(index(v)))
	}
	return profile.Or(ps...)
}

// Audience restricts prog to the subscribers pushes may go to: subscribed
// and not opted out. Every campaign and preview counts through it, so an
// audience never includes someone who unsubscribed or said 退订, whatever
// the expression says. When prog is an intersection the reachable bitmap
// joins it, so a three-term segment stays one BITOP per shard.
func Audience(prog profile.Program) profile.Program {
	if len(prog) == 0 {
		return profile.Reachable()
	}
	last := prog[len(prog)-1]
	if n, err := strconv.Atoi(strings.TrimPrefix(last, "&")); err == nil && strings.HasPrefix(last, "&") {
		out := append(profile.Program{}, prog[:len(prog)-1]...)
		out = append(out, profile.Reachable()...)
		return append(out, "&"+strconv.Itoa(n+1))
	}
	return profile.And(prog, profile.Reachable())
}
