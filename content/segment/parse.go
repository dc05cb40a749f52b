package segment

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// Bounds that keep a hostile or pasted expression cheap to parse and to
// evaluate in Redis.
const (
	MaxLen   = 2000 // runes
	maxDepth = 50   // nesting of ( and !
)

// sourcePattern is what a QR-code source may look like (as the admin API
// creates them).
var sourcePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,40}$`)

type tokKind uint8

const (
	tEOF tokKind = iota
	tWord
	tColon
	tLParen
	tRParen
	tAnd
	tOr
	tNot
	tComma
)

type token struct {
	kind tokKind
	text string // as typed (after width folding)
	pos  int    // rune offset
}

// Parse parses and validates expr against tax. Errors are *SyntaxError,
// with the rune offset of the problem and a hint where one helps.
func Parse(expr string, tax *taxonomy.Taxonomy) (*Expr, error) {
	rs := []rune(expr)
	if len(rs) > MaxLen {
		return nil, &SyntaxError{Pos: MaxLen, Code: CodeTooLong, Args: []string{strconv.Itoa(len(rs)), strconv.Itoa(MaxLen)}, Msg: fmt.Sprintf("expression is too long (%d characters, at most %d)", len(rs), MaxLen)}
	}
	toks, err := lex(rs)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, tax: tax}
	if p.peek().kind == tEOF {
		return &Expr{root: &node{kind: kindFlag, key: FlagAll}}, nil
	}
	root, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		switch {
		case t.kind == tRParen:
			return nil, &SyntaxError{Pos: t.pos, Code: CodeUnmatchedClose, Msg: "unmatched )"}
		case t.kind == tWord || t.kind == tLParen || t.kind == tNot:
			return nil, &SyntaxError{Pos: t.pos, Code: CodeMissingOperator, Args: []string{t.text}, Msg: fmt.Sprintf("missing & or | before %s", quote(t.text)),
				Hint: "join terms with & (and) or | (or)"}
		default:
			return nil, &SyntaxError{Pos: t.pos, Code: CodeUnexpected, Args: []string{t.text}, Msg: fmt.Sprintf("unexpected %s", quote(t.text))}
		}
	}
	return &Expr{root: root}, nil
}

// lex splits the expression into tokens. Full-width forms fold to ASCII
// first, which keeps every rune offset.
func lex(rs []rune) ([]token, error) {
	var toks []token
	for i := 0; i < len(rs); {
		r := foldRune(rs[i])
		if unicode.IsSpace(r) {
			i++
			continue
		}
		if k, ok := punct[r]; ok {
			n := 1
			if (r == '&' || r == '|') && i+1 < len(rs) && foldRune(rs[i+1]) == r {
				n = 2 // && and || read as & and |
			}
			toks = append(toks, token{kind: k, text: string(r), pos: i})
			i += n
			continue
		}
		if !isWordRune(r) {
			return nil, &SyntaxError{Pos: i, Code: CodeBadCharacter, Args: []string{string(rs[i])}, Msg: fmt.Sprintf("unexpected character %q", rs[i]),
				Hint: "use & (and), | (or), ! (not), parentheses and key:value terms"}
		}
		start := i
		var b strings.Builder
		for i < len(rs) && isWordRune(foldRune(rs[i])) {
			b.WriteRune(foldRune(rs[i]))
			i++
		}
		toks = append(toks, token{kind: tWord, text: b.String(), pos: start})
	}
	return append(toks, token{kind: tEOF, pos: len(rs)}), nil
}

// punct are the one-rune tokens.
var punct = map[rune]tokKind{':': tColon, '(': tLParen, ')': tRParen, '&': tAnd, '|': tOr, '!': tNot, ',': tComma, '、': tComma}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.'
}

// foldRune turns full-width ASCII and the ideographic space into their
// ASCII forms, as phone keyboards in Chinese mode type them.
func foldRune(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}

type parser struct {
	toks  []token
	i     int
	depth int
	tax   *taxonomy.Taxonomy
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// isOp reports whether t is the operator k, written as a symbol or a word.
func isOp(t token, k tokKind) bool {
	if t.kind == k {
		return true
	}
	if t.kind != tWord {
		return false
	}
	switch strings.ToLower(t.text) {
	case "and", "且":
		return k == tAnd
	case "or", "或":
		return k == tOr
	case "not", "非":
		return k == tNot
	}
	return false
}

func (p *parser) or() (*node, error) {
	return p.binary(tOr, kindOr, p.and)
}

func (p *parser) and() (*node, error) {
	return p.binary(tAnd, kindAnd, p.unary)
}

// binary parses operands joined by op into one flat node of kind k.
func (p *parser) binary(op tokKind, k kind, operand func() (*node, error)) (*node, error) {
	first, err := operand()
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for isOp(p.peek(), op) {
		p.next()
		n, err := operand()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	var flat []*node
	for _, n := range kids {
		if n.kind == k {
			flat = append(flat, n.kids...)
		} else {
			flat = append(flat, n)
		}
	}
	return &node{kind: k, kids: flat}, nil
}

func (p *parser) unary() (*node, error) {
	t := p.peek()
	if isOp(t, tNot) || t.kind == tLParen {
		if p.depth++; p.depth > maxDepth {
			return nil, &SyntaxError{Pos: t.pos, Code: CodeTooDeep, Args: []string{strconv.Itoa(maxDepth)}, Msg: fmt.Sprintf("nested more than %d levels deep", maxDepth)}
		}
		defer func() { p.depth-- }()
	}
	switch {
	case isOp(t, tNot):
		p.next()
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &node{kind: kindNot, kids: []*node{n}}, nil
	case t.kind == tLParen:
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, &SyntaxError{Pos: c.pos, Code: CodeMissingClose, Args: []string{strconv.Itoa(t.pos)}, Msg: fmt.Sprintf("missing ) to close the ( at %d", t.pos)}
		}
		return n, nil
	case t.kind == tWord && !isOp(t, tAnd) && !isOp(t, tOr):
		return p.term()
	}
	return nil, p.expected(t, "a term")
}

// expected reports a missing operand at t.
func (p *parser) expected(t token, what string) error {
	after, prev := "", ""
	if p.i > 0 {
		prev = p.toks[p.i-1].text
		after = fmt.Sprintf(" after %s", quote(prev))
	}
	switch t.kind {
	case tEOF:
		return &SyntaxError{Pos: t.pos, Code: CodeEnds, Args: []string{prev}, Msg: fmt.Sprintf("expression ends%s; expected %s", after, what)}
	case tRParen:
		return &SyntaxError{Pos: t.pos, Code: CodeExpectedTerm, Args: []string{prev, ")"}, Msg: fmt.Sprintf("expected %s%s, found )", what, after)}
	}
	return &SyntaxError{Pos: t.pos, Code: CodeExpectedTerm, Args: []string{prev, t.text}, Msg: fmt.Sprintf("expected %s%s, found %s", what, after, quote(t.text))}
}

var keyAliases = map[string]string{
	"group": KeyGroup, "town": KeyTown, "interest": KeyInterest, "topic": KeyInterest,
	"source": KeySource, "active": KeyActive,
}

var flagAliases = map[string]string{
	"subscribed": FlagSubscribed, "opted_out": FlagOptedOut, "all": FlagAll, "everyone": FlagAll,
}

// term parses key:value, key:(v1|v2) or a flag; the current token is a word.
func (p *parser) term() (*node, error) {
	w := p.next()
	name := strings.ToLower(w.text)
	if p.peek().kind != tColon {
		if f, ok := flagAliases[name]; ok {
			return &node{kind: kindFlag, key: f}, nil
		}
		if _, ok := keyAliases[name]; ok {
			return nil, &SyntaxError{Pos: w.pos + len([]rune(w.text)), Code: CodeMissingColon, Args: []string{w.text}, Msg: fmt.Sprintf("missing : and a value after %s", quote(w.text)),
				Hint: fmt.Sprintf("write it as %s:<value>", name)}
		}
		return nil, unknownWord(p.tax, w, "flag", flagAliases, keyAliases)
	}
	colon := p.next()
	key, ok := keyAliases[name]
	if !ok {
		if _, isFlag := flagAliases[name]; isFlag {
			return nil, &SyntaxError{Pos: colon.pos, Code: CodeFlagValue, Args: []string{name}, Msg: fmt.Sprintf("%s takes no value", name)}
		}
		return nil, unknownWord(p.tax, w, "key", keyAliases)
	}
	var vals []token
	switch t := p.peek(); {
	case t.kind == tWord:
		vals = append(vals, p.next())
	case t.kind == tLParen:
		p.next()
		for {
			v := p.next()
			if v.kind != tWord {
				return nil, p.valueError(v, key)
			}
			vals = append(vals, v)
			sep := p.next()
			if sep.kind == tRParen {
				break
			}
			if sep.kind != tOr && sep.kind != tComma {
				if sep.kind == tEOF {
					return nil, &SyntaxError{Pos: sep.pos, Code: CodeMissingClose, Args: []string{strconv.Itoa(t.pos)}, Msg: fmt.Sprintf("missing ) to close the ( at %d", t.pos)}
				}
				return nil, &SyntaxError{Pos: sep.pos, Code: CodeListSeparator, Args: []string{key, sep.text}, Msg: fmt.Sprintf("expected | or ) in %s:(...), found %s", key, quote(sep.text)),
					Hint: fmt.Sprintf("a list means any of its values; for all of them write %s:a & %s:b", key, key)}
			}
		}
	default:
		return nil, &SyntaxError{Pos: t.pos, Code: CodeMissingValue, Args: []string{key}, Msg: fmt.Sprintf("missing value after %s:", key)}
	}
	n := &node{kind: kindTerm, key: key}
	for _, v := range vals {
		id, err := p.resolve(key, v)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(n.vals, id) {
			n.vals = append(n.vals, id)
		}
	}
	return n, nil
}

func (p *parser) valueError(t token, key string) error {
	if t.kind == tEOF || t.kind == tRParen {
		return &SyntaxError{Pos: t.pos, Code: CodeListMissingValue, Args: []string{key}, Msg: fmt.Sprintf("missing value in %s:(...)", key)}
	}
	return &SyntaxError{Pos: t.pos, Code: CodeListExpectedValue, Args: []string{key, t.text}, Msg: fmt.Sprintf("expected a value in %s:(...), found %s", key, quote(t.text))}
}

// resolve turns a typed value into its canonical form.
func (p *parser) resolve(key string, v token) (string, error) {
	switch key {
	case KeySource:
		if !sourcePattern.MatchString(v.text) {
			return "", &SyntaxError{Pos: v.pos, Code: CodeBadSource, Args: []string{v.text}, Msg: fmt.Sprintf("invalid source %s", quote(v.text)),
				Hint: "sources are 1-40 letters, digits, _ . or -"}
		}
		return v.text, nil
	case KeyActive:
		return resolveActive(v)
	}
	if p.tax == nil {
		return "", &SyntaxError{Pos: v.pos, Code: CodeNoTaxonomy, Args: []string{key, v.text}, Msg: fmt.Sprintf("no taxonomy to look up %s %s in", key, quote(v.text))}
	}
	if id, ok := lookup(p.tax, key, v.text); ok {
		return id, nil
	}
	return "", unknownValue(p.tax, key, v)
}

func resolveActive(v token) (string, error) {
	s := strings.ToLower(v.text)
	hint := fmt.Sprintf("write the number of days, e.g. active:30d (1 to %d)", profile.ActiveDays)
	digits, ok := strings.CutSuffix(s, "d")
	n, err := strconv.Atoi(digits)
	if !ok || err != nil || digits == "" || digits[0] < '0' || digits[0] > '9' {
		return "", &SyntaxError{Pos: v.pos, Code: CodeBadWindow, Args: []string{v.text}, Msg: fmt.Sprintf("invalid activity window %s", quote(v.text)), Hint: hint}
	}
	if n < 1 || n > profile.ActiveDays {
		return "", &SyntaxError{Pos: v.pos, Code: CodeWindowRange, Args: []string{v.text, strconv.Itoa(profile.ActiveDays)}, Msg: fmt.Sprintf("activity window %s is out of range", quote(v.text)),
			Hint: fmt.Sprintf("activity is kept for %d days: use 1d to %dd", profile.ActiveDays, profile.ActiveDays)}
	}
	return strconv.Itoa(n) + "d", nil
}
