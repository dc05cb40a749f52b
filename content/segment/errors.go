package segment

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// SyntaxError is a bad segment expression: where, what, and a hint for the
// organizer who typed it.
type SyntaxError struct {
	// Pos is the 0-based offset of the problem in runes (characters), not
	// bytes: in "town:派潭 & x" the x is at 10.
	Pos int
	// Msg says what is wrong, e.g. `unknown town "patan"`.
	Msg string
	// Hint suggests a fix, e.g. "did you mean paitan (派潭镇)?"; may be empty.
	Hint string
	// Code says which error this is, for a program (the console says it
	// in Chinese); Args are its particulars, in the order Codes lists them.
	Code Code
	Args []string
	// Suggestion is what the organizer probably meant ("paitan",
	// "group:farmer"), when a typo or a bare value looks like it.
	Suggestion string
}

// Code identifies a kind of SyntaxError.
type Code string

// The codes, with their Args.
const (
	CodeTooLong           Code = "too_long"            // length, maximum
	CodeUnmatchedClose    Code = "unmatched_close"     //
	CodeMissingOperator   Code = "missing_operator"    // the token after the gap
	CodeUnexpected        Code = "unexpected"          // the token
	CodeBadCharacter      Code = "bad_character"       // the character
	CodeTooDeep           Code = "too_deep"            // the maximum depth
	CodeMissingClose      Code = "missing_close"       // the offset of the (
	CodeEnds              Code = "ends"                // the last token ("" for an empty expression)
	CodeExpectedTerm      Code = "expected_term"       // the token before ("" at the start), the token found
	CodeMissingColon      Code = "missing_colon"       // the key
	CodeFlagValue         Code = "flag_value"          // the flag
	CodeListSeparator     Code = "list_separator"      // the key, the token found
	CodeMissingValue      Code = "missing_value"       // the key
	CodeListMissingValue  Code = "list_missing_value"  // the key
	CodeListExpectedValue Code = "list_expected_value" // the key, the token found
	CodeBadSource         Code = "bad_source"          // the value
	CodeNoTaxonomy        Code = "no_taxonomy"         // the key, the value
	CodeBadWindow         Code = "bad_window"          // the value
	CodeWindowRange       Code = "window_range"        // the value, the most days
	CodeUnknownValue      Code = "unknown_value"       // the key (group, town, interest), the value
	CodeUnknownWord       Code = "unknown_word"        // what it was taken for (key or flag), the word
)

// Codes lists every code, for a program that must say each one.
var Codes = []Code{CodeTooLong, CodeUnmatchedClose, CodeMissingOperator, CodeUnexpected, CodeBadCharacter,
	CodeTooDeep, CodeMissingClose, CodeEnds, CodeExpectedTerm, CodeMissingColon, CodeFlagValue,
	CodeListSeparator, CodeMissingValue, CodeListMissingValue, CodeListExpectedValue, CodeBadSource,
	CodeNoTaxonomy, CodeBadWindow, CodeWindowRange, CodeUnknownValue, CodeUnknownWord}

// Error reads e.g. `unknown town "patan" at 14; did you mean paitan (派潭镇)?`.
func (e *SyntaxError) Error() string {
	s := fmt.Sprintf("%s at %d", e.Msg, e.Pos)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// lookup resolves a group, town or topic typed as an id, name, short name
// or synonym to its id. The taxonomy's matchers are forgiving (numbers,
// whole sentences); a segment value must name the entry exactly.
func lookup(tax *taxonomy.Taxonomy, key, text string) (string, bool) {
	lower := strings.ToLower(text)
	var t taxonomy.Term
	var ok bool
	switch key {
	case KeyGroup:
		if g, found := tax.Group(lower); found {
			return g.ID, true
		}
		var g taxonomy.Group
		g, ok = tax.MatchGroup(text)
		t = g.Term
	case KeyTown:
		if tw, found := tax.Town(lower); found {
			return tw.ID, true
		}
		var tw taxonomy.Town
		tw, ok = tax.MatchTown(text)
		t = tw.Term
	case KeyInterest:
		if tp, found := tax.Topic(lower); found {
			return tp.ID, true
		}
		if ids, unknown := tax.MatchTopics(text, nil); len(ids) == 1 && len(unknown) == 0 {
			t, ok = tax.Topic(ids[0])
		}
	}
	if !ok || !slices.ContainsFunc(keysOf(t), func(k string) bool { return strings.EqualFold(k, text) }) {
		return "", false
	}
	return t.ID, true
}

func keysOf(t taxonomy.Term) []string {
	return append([]string{t.ID, t.Name, t.Short}, t.Synonyms...)
}

// terms lists the entries of the taxonomy a key looks values up in.
func terms(tax *taxonomy.Taxonomy, key string) []taxonomy.Term {
	var out []taxonomy.Term
	switch key {
	case KeyGroup:
		for _, g := range tax.Groups {
			out = append(out, g.Term)
		}
	case KeyTown:
		for _, tw := range tax.Towns {
			out = append(out, tw.Term)
		}
	case KeyInterest:
		out = tax.Topics
	}
	return out
}

func unknownValue(tax *taxonomy.Taxonomy, key string, v token) error {
	what := map[string]string{KeyGroup: "group", KeyTown: "town", KeyInterest: "topic"}[key]
	e := &SyntaxError{Pos: v.pos, Code: CodeUnknownValue, Args: []string{key, v.text}, Msg: fmt.Sprintf("unknown %s %s", what, quote(v.text))}
	ts := terms(tax, key)
	best, bestD := -1, 0
	for i, t := range ts {
		for _, k := range keysOf(t) {
			if k == "" {
				continue
			}
			if d := distance(strings.ToLower(v.text), strings.ToLower(k)); best < 0 || d < bestD {
				best, bestD = i, d
			}
		}
	}
	if best >= 0 && typo(v.text, bestD) {
		e.Hint = fmt.Sprintf("did you mean %s (%s)?", ts[best].ID, ts[best].Name)
		e.Suggestion = ts[best].ID
		return e
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	e.Hint = fmt.Sprintf("%ss are %s", what, strings.Join(ids, ", "))
	return e
}

// unknownWord explains a word that is neither a known key nor a flag.
func unknownWord(tax *taxonomy.Taxonomy, w token, what string, names ...map[string]string) error {
	e := &SyntaxError{Pos: w.pos, Code: CodeUnknownWord, Args: []string{what, w.text}, Msg: fmt.Sprintf("unknown %s %s", what, quote(w.text))}
	best, bestD := "", 0
	for _, m := range names {
		for name := range m {
			if d := distance(strings.ToLower(w.text), name); best == "" || d < bestD || d == bestD && name < best {
				best, bestD = name, d
			}
		}
	}
	if tax != nil && what == "flag" {
		// A bare value ("farmer", "派潭"): say which key it belongs to.
		for _, key := range []string{KeyGroup, KeyTown, KeyInterest} {
			if id, ok := lookup(tax, key, w.text); ok {
				e.Hint = fmt.Sprintf("did you mean %s:%s?", key, id)
				e.Suggestion = key + ":" + id
				return e
			}
		}
	}
	if best != "" && typo(w.text, bestD) {
		e.Hint = fmt.Sprintf("did you mean %s?", best)
		e.Suggestion = best
	} else {
		e.Hint = "terms are key:value with keys group, town, interest, source and active, or the flags subscribed, opted_out and all"
	}
	return e
}

// typo reports whether an edit distance d from what was typed is small
// enough to be a typo: one edit in short words, up to three in long ones.
func typo(typed string, d int) bool {
	n := len([]rune(typed))
	return d <= max(1, min(3, n/3)) && d < n
}

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// quote quotes what the organizer typed for a message, cut short when long
// (a pasted paragraph should not come back whole).
func quote(s string) string {
	const maxRunes = 40
	if rs := []rune(s); len(rs) > maxRunes {
		s = string(rs[:maxRunes]) + "…"
	}
	return strconv.Quote(s)
}
