package taxonomy

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Matching is forgiving on purpose: many subscribers are elderly farmers
// typing on phones or dictating by voice, so answers arrive with full-width
// digits, stray punctuation and whole sentences ("我在派潭镇").

// MatchGroup returns the group a subscriber's answer names: the number
// shown (1-based, in Groups order), a name, short name, synonym or id, or
// a sentence containing exactly one group's name ("我是农民").
func (t *Taxonomy) MatchGroup(text string) (Group, bool) {
	i, ok := match(text, len(t.Groups), t.groupKeys, t.groupByID)
	if !ok {
		return Group{}, false
	}
	return t.Groups[i], true
}

// MatchTown returns the town a subscriber's answer names: the number shown
// (1-based, in Towns order), the full name (派潭镇), short name (派潭),
// synonym or id, or a sentence containing exactly one town's name
// ("我在派潭镇"); a sentence naming two towns matches neither.
func (t *Taxonomy) MatchTown(text string) (Town, bool) {
	i, ok := match(text, len(t.Towns), t.townKeys, t.townByID)
	if !ok {
		return Town{}, false
	}
	return t.Towns[i], true
}

// match resolves an answer to an index into a list of n entries.
func match(text string, n int, keys *index, byID map[string]int) (int, bool) {
	if keys == nil {
		return 0, false
	}
	k := squash(fold(text))
	if k == "" {
		return 0, false
	}
	if num := parseNumber(k); num > 0 {
		return num - 1, num <= n
	}
	if id, ok := keys.ids[k]; ok {
		return byID[id], true
	}
	if ids := keys.scan(k); len(ids) == 1 {
		return byID[ids[0]], true
	}
	return 0, false
}

// MatchTopics reads a subscriber's choice of topics. The answer is split
// into words on spaces and punctuation (、，, ; and the like); each word is a
// number picking from offered (1-based, the list shown), a topic name,
// short name, synonym or id, or a phrase containing topic names. When
// offered has fewer than 10 entries a run of digits picks one topic per
// digit ("13" is 1 and 3). ids are deduplicated in the order chosen;
// unknown holds the words not understood, as typed.
func (t *Taxonomy) MatchTopics(text string, offered []string) (ids, unknown []string) {
	seen := make(map[string]bool)
	pick := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, word := range strings.FieldsFunc(widthFold(text), isSep) {
		k := fold(word)
		if picked, ok := pickDigits(k, offered); ok {
			for _, id := range picked {
				pick(id)
			}
			continue
		}
		if num := parseNumber(k); num > 0 {
			if num <= len(offered) {
				pick(offered[num-1])
			} else {
				unknown = append(unknown, word)
			}
			continue
		}
		if t.topicKeys == nil {
			unknown = append(unknown, word)
			continue
		}
		if id, ok := t.topicKeys.ids[k]; ok {
			pick(id)
			continue
		}
		found := t.topicKeys.scan(k)
		if len(found) == 0 {
			unknown = append(unknown, word)
		}
		for _, id := range found {
			pick(id)
		}
	}
	return ids, unknown
}

// pickDigits reads a run of two or more digits as one choice per digit,
// which only makes sense while every choice is a single digit.
func pickDigits(k string, offered []string) ([]string, bool) {
	if len(offered) >= 10 || len(k) < 2 {
		return nil, false
	}
	picked := make([]string, 0, len(k))
	for _, r := range k {
		if r < '1' || r > '0'+rune(len(offered)) {
			return nil, false
		}
		picked = append(picked, offered[r-'1'])
	}
	return picked, true
}

// FindTopics returns the ids of topics whose names, short names, synonyms
// or ids appear in free text, in order of first appearance. Where names
// overlap the longest wins, so 食品安全 is food_safety, not safety.
func (t *Taxonomy) FindTopics(text string) []string {
	if t.topicKeys == nil {
		return nil
	}
	var b strings.Builder
	for _, r := range fold(text) {
		if isSep(r) {
			r = ' '
		}
		b.WriteRune(r)
	}
	return t.topicKeys.scan(b.String())
}

// NearestTown returns the town whose centre is closest (great-circle
// distance) to a WGS-84 location. It has no notion of "outside the
// district": callers that care compare the distance themselves. It returns
// the zero Town only when the taxonomy has no towns.
func (t *Taxonomy) NearestTown(lat, lon float64) Town {
	var best Town
	bestKm := math.Inf(1)
	for i, tw := range t.Towns {
		if d := km(lat, lon, tw.Lat, tw.Lon); i == 0 || d < bestKm {
			best, bestKm = tw, d
		}
	}
	return best
}

// km is the haversine distance between two points, in kilometres.
func km(lat1, lon1, lat2, lon2 float64) float64 {
	const earthKm = 6371.0
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthKm * math.Asin(math.Sqrt(math.Min(1, a)))
}

// index maps folded names, short names, synonyms and ids to entry ids.
type index struct {
	ids      map[string]string
	maxRunes int
}

func newIndex() *index { return &index{ids: make(map[string]string)} }

func (x *index) add(key, id string) {
	x.ids[key] = id
	x.maxRunes = max(x.maxRunes, utf8.RuneCountInString(key))
}

// scan finds keys of two or more runes inside s, leftmost-longest and
// without overlaps, and returns their ids deduplicated in order. Keys of
// ASCII letters and digits (AI, 5G, ids) must stand as whole words, so
// "rain" does not contain AI. Single runes are too ambiguous inside a
// sentence and only ever match a whole answer.
func (x *index) scan(s string) []string {
	// off[i] is the byte offset of rune i, so candidates are substrings of
	// s and cost no allocation.
	off := make([]int, 0, len(s)+1)
	for i := range s {
		off = append(off, i)
	}
	off = append(off, len(s))
	n := len(off) - 1
	var ids []string
	for i := 0; i < n; {
		l := min(x.maxRunes, n-i)
		for ; l >= 2; l-- {
			id, ok := x.ids[s[off[i]:off[i+l]]]
			if !ok || !bounded(s, off[i], off[i+l]) {
				continue
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
			break
		}
		if l >= 2 {
			i += l
		} else {
			i++
		}
	}
	return ids
}

// bounded reports whether the key at s[start:end] may match there: keys of
// ASCII letters and digits need non-alphanumeric neighbours.
func bounded(s string, start, end int) bool {
	for i := start; i < end; i++ {
		if !isASCIIAlnum(rune(s[i])) {
			return true
		}
	}
	return (start == 0 || !isASCIIAlnum(rune(s[start-1]))) && (end == len(s) || !isASCIIAlnum(rune(s[end])))
}

func isASCIIAlnum(r rune) bool {
	return r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// widthFold turns full-width ASCII (ＡＢＣ１２３，) and the ideographic space
// into their half-width forms, as phone keyboards in Chinese mode type them.
func widthFold(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000:
			return ' '
		}
		return r
	}, s)
}

// fold is the form keys are compared in: half-width, lower case, trimmed.
func fold(s string) string {
	return strings.TrimSpace(strings.ToLower(widthFold(s)))
}

// isSep reports whether r separates words in an answer: spaces,
// punctuation (、，。；, ; and the like) and symbols such as emoji. The
// underscore is kept so ids like food_safety stay whole.
func isSep(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsSymbol(r) || (unicode.IsPunct(r) && r != '_') ||
		r == utf8.RuneError || unicode.IsControl(r)
}

// squash drops separators, so "派潭 镇。" reads as 派潭镇.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if isSep(r) {
			return -1
		}
		return r
	}, s)
}

// parseNumber reads a choice number: ASCII digits (at most 3) or a Chinese
// numeral up to 九十九 (voice input writes 三, not 3), optionally as 第N,
// N号, N个 or N项. It returns 0 when s is not such a number.
func parseNumber(s string) int {
	s = strings.TrimPrefix(s, "第")
	for _, suffix := range []string{"号", "个", "项"} {
		s = strings.TrimSuffix(s, suffix)
	}
	if s == "" {
		return 0
	}
	if s[0] >= '0' && s[0] <= '9' {
		if len(s) > 3 {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0
		}
		return n
	}
	return parseChineseNumber(s)
}

var chineseDigits = map[rune]int{
	'一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9,
}

// parseChineseNumber reads 一 to 九十九, or returns 0.
func parseChineseNumber(s string) int {
	rs := []rune(s)
	digit := func(r rune) int { return chineseDigits[r] }
	switch {
	case len(rs) == 1 && rs[0] == '十':
		return 10
	case len(rs) == 1:
		return digit(rs[0])
	case len(rs) == 2 && rs[0] == '十' && digit(rs[1]) > 0:
		return 10 + digit(rs[1])
	case len(rs) == 2 && rs[1] == '十' && digit(rs[0]) > 0:
		return 10 * digit(rs[0])
	case len(rs) == 3 && rs[1] == '十' && digit(rs[0]) > 0 && digit(rs[2]) > 0:
		return 10*digit(rs[0]) + digit(rs[2])
	}
	return 0
}
