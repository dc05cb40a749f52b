// Package search answers the words a subscriber types in the chat (荔枝
// 施肥, 台风, 防诈骗) with the best deliverable items for them.
//
// An [Index] is pure and in memory: it is built from the items the caller
// says are deliverable (published and currently valid) and the taxonomy's
// topic words, and does no I/O. When the library changes, [Index.Update]
// makes the next index, segmenting only the items that are new or of a
// new version. Text is segmented with go-ego/gse ([Segmenter]).
//
// Ranking: the match score comes first — query words found in an item's
// title (strong), short version, summary and body (weak), weighted by how
// rare each word is, plus a bonus when the query names one of the item's
// topics (荔枝 → litchi). The subscriber's profile then boosts it: an
// item for their group or town, on topics they care about, or of higher
// priority moves up among similar matches; it never makes a non-match
// appear.
//
// Matching: an item is found when its text says one of the query's words
// (one character beside longer words, like 防 of 防诈骗, does not count),
// or when the query names one of its topics by the topic's own name (科技,
// 养鱼). A topic synonym (机器人 for 科技) raises the items that say what
// was asked but finds no others. Results far weaker than the best are
// dropped. A query nothing matches gets no results, so the caller can
// answer with a helpful fallback.
package search

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/zengcheng-kexie/kepubot/content"
)

// Field weights: a word in the title says far more about an item than the
// same word somewhere in its body.
const (
	weightTitle   = 4.0
	weightShort   = 2.0
	weightSummary = 2.0
	weightBody    = 1.0

	// topicBonus is added per query topic the item carries, as if the query
	// had matched a rare title word; primaryBonus again when it is the
	// item's first (main) topic.
	topicBonus   = 6.0
	primaryBonus = 3.0

	// subWordWeight scales the shorter words tried for a query word that
	// no item contains.
	subWordWeight = 0.5

	// singleRuneWeight scales a one-character query word when the query
	// also has longer words.
	singleRuneWeight = 0.3

	// minRelevance: a result scores at least this share of the best one;
	// a passing mention far below it is noise. minUntitled: when the best
	// result says a query word in its title, a result whose title says
	// none scores at least this share (学技能拿证书 lists 电商 among
	// trades in its summary; it is not about 电商).
	minRelevance = 0.2
	minUntitled  = 0.5
)

// Query is what a subscriber typed and who they are.
type Query struct {
	Text      string
	Group     string         // group id, or empty
	Town      string         // town id, or empty
	Interests map[string]int // topic id → weight (higher = more interested)
}

// Result is one item found, best first.
type Result struct {
	Item          content.Item
	Score         float64
	MatchedTopics []string // topics of the item the query named
}

// Index is a search index over a fixed set of items. It is safe for
// concurrent use.
type Index struct {
	seg      *Segmenter
	items    []content.Item
	postings map[string][]posting
	idf      map[string]float64
	byTopic  map[string][]int32

	// topicWords maps a normalised topic word to its topic ids; cjkWords
	// lists the multi-character Chinese ones, longest first, for
	// substring matching. topicNames maps a topic's name or short name to
	// its ids: those name the whole topic, a synonym only part of it.
	topicWords map[string][]string
	topicNames map[string][]string
	cjkWords   []string

	scratch sync.Pool // *scratch

	// words is the topicWords NewIndex was given, and docs each item's
	// word weights by id, for Update.
	words map[string][]string
	docs  map[string]doc
}

// doc is one item's word weights, kept so that Update does not segment
// an unchanged item again (segmentation is most of an index's cost).
type doc struct {
	version int
	weights map[string]float64
}

type posting struct {
	doc    int32
	weight float32
}

type scratch struct {
	score   []float64
	matched []uint8 // query words matched, for coverage
	touched []int32
}

// NewIndex indexes items (only those the caller may deliver) with seg.
// topicWords maps each topic id to the words that name it from the
// taxonomy: its Chinese name and short name first (either may be empty),
// then its synonyms. A query of a name (科技, 养鱼) finds the topic's
// items even where their text does not say it; a synonym (机器人, 电商)
// often names a part of the topic only, so it finds the items that say
// it, and raises those about the topic.
func NewIndex(seg *Segmenter, items []content.Item, topicWords map[string][]string) *Index {
	return build(seg, items, topicWords, nil)
}

// Update returns an index of items (the library as it is now) with ix's
// segmenter and topic words. Only the items that are new, or of another
// version than ix indexed, are segmented: publishing, retiring or editing
// one item of thousands costs that item's words, not the library's.
func (ix *Index) Update(items []content.Item) *Index {
	return build(ix.seg, items, ix.words, ix.docs)
}

func build(seg *Segmenter, items []content.Item, topicWords map[string][]string, known map[string]doc) *Index {
	ix := &Index{
		words:      topicWords,
		docs:       make(map[string]doc, len(items)),
		seg:        seg,
		items:      slices.Clone(items),
		postings:   map[string][]posting{},
		idf:        map[string]float64{},
		byTopic:    map[string][]int32{},
		topicWords: map[string][]string{},
		topicNames: map[string][]string{},
	}
	for topic, words := range topicWords {
		for i, w := range append([]string{topic}, words...) {
			w = normalize(w)
			if w == "" {
				continue
			}
			if i <= topicNameWords && !contains(ix.topicNames[w], topic) {
				ix.topicNames[w] = append(ix.topicNames[w], topic)
			}
			if !contains(ix.topicWords[w], topic) {
				ix.topicWords[w] = append(ix.topicWords[w], topic)
			}
		}
	}
	for w := range ix.topicWords {
		slices.Sort(ix.topicWords[w])
		if !isASCII(w) && utf8.RuneCountInString(w) > 1 {
			ix.cjkWords = append(ix.cjkWords, w)
		}
	}
	sort.Slice(ix.cjkWords, func(i, j int) bool {
		if len(ix.cjkWords[i]) != len(ix.cjkWords[j]) {
			return len(ix.cjkWords[i]) > len(ix.cjkWords[j])
		}
		return ix.cjkWords[i] < ix.cjkWords[j]
	})

	for i := range ix.items {
		it := &ix.items[i]
		d, ok := known[it.ID]
		if !ok || d.version != it.Version || it.Version == 0 {
			d = doc{version: it.Version, weights: seg.itemWeights(it)}
		}
		ix.docs[it.ID] = d
		weights := d.weights
		for w, wt := range weights {
			ix.postings[w] = append(ix.postings[w], posting{doc: int32(i), weight: float32(wt)})
		}
		for _, t := range it.Topics {
			ix.byTopic[t] = append(ix.byTopic[t], int32(i))
		}
	}
	n := float64(len(ix.items))
	for w, ps := range ix.postings {
		ix.idf[w] = math.Log(1 + n/float64(len(ps)))
	}
	ix.scratch.New = func() any {
		return &scratch{score: make([]float64, len(ix.items)), matched: make([]uint8, len(ix.items))}
	}
	return ix
}

// itemWeights is the weight of each word of an item's text, by field.
func (seg *Segmenter) itemWeights(it *content.Item) map[string]float64 {
	weights := map[string]float64{}
	for _, f := range []struct {
		text   string
		weight float64
	}{
		{it.Title, weightTitle}, {it.Short, weightShort}, {it.Summary, weightSummary}, {it.Body, weightBody},
	} {
		counts := map[string]int{}
		for _, w := range seg.indexWords(f.text) {
			counts[w]++
		}
		for w, n := range counts {
			weights[w] += f.weight * (1 + math.Log(float64(n)))
		}
	}
	return weights
}

// Len returns the number of items indexed.
func (ix *Index) Len() int { return len(ix.items) }

// topicNameWords is how many of a topic's words, after its id, are its
// names (name and short name) rather than synonyms.
const topicNameWords = 2

// QueryTopics returns the ids of the topics text names, sorted: 荔枝施肥
// → [agriculture litchi]. Callers use it to raise interest weights.
func (ix *Index) QueryTopics(text string) []string {
	text = Clip(text)
	topics, _ := ix.queryTopics(normalize(text), ix.seg.Words(text))
	return topics
}

// queryTopics returns the topics the text names, and those among them it
// names by a name of the whole topic (broad), both sorted.
func (ix *Index) queryTopics(norm string, words []string) (topics, broad []string) {
	add := func(w string) {
		for _, t := range ix.topicWords[w] {
			if !contains(topics, t) {
				topics = append(topics, t)
			}
		}
		for _, t := range ix.topicNames[w] {
			if !contains(broad, t) {
				broad = append(broad, t)
			}
		}
	}
	// Chinese topic words are found anywhere in the text, longest first,
	// and blanked out so 荔枝蒂蛀虫 does not also count as 蛀虫 elsewhere.
	for _, w := range ix.cjkWords {
		if strings.Contains(norm, w) {
			add(w)
			norm = strings.ReplaceAll(norm, w, " ")
		}
	}
	// Latin and one-character topic words (ai, 5g) must be whole words.
	for _, w := range words {
		if isASCII(w) || utf8.RuneCountInString(w) == 1 {
			add(w)
		}
	}
	slices.Sort(topics)
	slices.Sort(broad)
	return topics, broad
}

// Search returns at most limit items for q, best first; none when nothing
// in the query matches.
func (ix *Index) Search(q Query, limit int) []Result {
	if limit <= 0 || len(ix.items) == 0 {
		return nil
	}
	q.Text = Clip(q.Text)
	words := ix.seg.Words(q.Text)
	topics, broad := ix.queryTopics(normalize(q.Text), words)

	// A query word no item contains may still have known words inside
	// (丝苗米种植 → 种植); try those of two characters or more at a lower
	// weight — but not inside a topic word, whose meaning is known and is
	// not its parts' (机器人 is no 机器).
	type term struct {
		word   string
		weight float64
		slot   int // which query word it stands for, for coverage
	}
	// One-character words (防, 吃) are weak evidence next to real words:
	// they weigh less and do not count towards coverage.
	multi := slices.ContainsFunc(words, func(w string) bool { return utf8.RuneCountInString(w) > 1 })
	var terms []term
	for i, w := range words {
		if _, ok := ix.postings[w]; ok {
			if multi && utf8.RuneCountInString(w) == 1 {
				terms = append(terms, term{w, singleRuneWeight, -1})
				continue
			}
			terms = append(terms, term{w, 1, i})
			continue
		}
		if utf8.RuneCountInString(w) < 3 || len(ix.topicWords[w]) > 0 {
			continue
		}
		for _, sub := range ix.seg.subWords(w) {
			if _, ok := ix.postings[sub]; ok && utf8.RuneCountInString(sub) > 1 {
				terms = append(terms, term{sub, subWordWeight, i})
			}
		}
	}
	if len(terms) == 0 && len(broad) == 0 {
		return nil
	}

	s := ix.scratch.Get().(*scratch)
	defer ix.scratch.Put(s)
	defer s.reset()

	slotBits := map[int]uint8{}
	for _, t := range terms {
		if _, ok := slotBits[t.slot]; !ok && t.slot >= 0 && len(slotBits) < 6 {
			slotBits[t.slot] = uint8(1) << len(slotBits)
		}
	}
	for _, t := range terms {
		idf := ix.idf[t.word]
		bit, ok := slotBits[t.slot]
		if !ok && t.slot >= 0 {
			bit = slotOverflow // a seventh or later query word still matches
		}
		for _, p := range ix.postings[t.word] {
			if s.score[p.doc] == 0 && s.matched[p.doc] == 0 {
				s.touched = append(s.touched, p.doc)
			}
			s.score[p.doc] += idf * float64(p.weight) * t.weight
			s.matched[p.doc] |= bit
		}
	}
	// Text matches count more when they cover more of the query's words.
	if n := len(slotBits); n > 1 {
		for _, d := range s.touched {
			cov := float64(popcount(s.matched[d]&^slotOverflow)) / float64(n)
			s.score[d] *= 0.5 + 0.5*cov
		}
	}
	// An item matches when it says a query word (a one-character word
	// beside longer ones does not count) or is about a topic the query
	// names by the topic's own name. A synonym (机器人 for 科技) only
	// raises the items that say something asked.
	for _, t := range broad {
		for _, d := range ix.byTopic[t] {
			if s.score[d] == 0 && s.matched[d] == 0 {
				s.touched = append(s.touched, d)
			}
			s.matched[d] |= topicMatch
		}
	}
	for _, t := range topics {
		for _, d := range ix.byTopic[t] {
			if s.matched[d] == 0 {
				continue
			}
			s.score[d] += topicBonus
			if ix.items[d].Topics[0] == t {
				s.score[d] += primaryBonus
			}
		}
	}

	top := make([]Result, 0, limit+1)
	maxInterest := 0
	for _, w := range q.Interests {
		maxInterest = max(maxInterest, w)
	}
	for _, d := range s.touched {
		if s.matched[d] == 0 {
			continue // weak evidence only: one character of the query
		}
		it := &ix.items[d]
		score := s.score[d] * ix.boost(it, q, maxInterest)
		if len(top) == limit && !better(score, it, top[limit-1].Score, &top[limit-1].Item) {
			continue
		}
		r := Result{Item: *it, Score: score}
		i := sort.Search(len(top), func(i int) bool { return better(score, it, top[i].Score, &top[i].Item) })
		top = slices.Insert(top, i, r)
		if len(top) > limit {
			top = top[:limit]
		}
	}
	var asked []string // the query words that qualify an item
	for _, t := range terms {
		if t.slot >= 0 {
			asked = append(asked, t.word)
		}
	}
	top = relevant(top, asked)
	for i := range top {
		for _, t := range top[i].Item.Topics {
			if contains(topics, t) {
				top[i].MatchedTopics = append(top[i].MatchedTopics, t)
			}
		}
	}
	return top
}

// relevant drops the results too weak beside the best (see minRelevance
// and minUntitled); words are the query words an item may say.
func relevant(top []Result, words []string) []Result {
	if len(top) == 0 {
		return top
	}
	titled := func(r *Result) bool {
		title := normalize(r.Item.Title)
		return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(title, w) })
	}
	best, bestTitled := top[0].Score, titled(&top[0])
	out := top[:1]
	for i := 1; i < len(top); i++ {
		r := &top[i]
		if r.Score < minRelevance*best || (bestTitled && r.Score < minUntitled*best && !titled(r)) {
			continue
		}
		out = append(out, *r)
	}
	return out
}

// boost is the profile factor, between 0.75 and 1.7: group and town fit,
// interest in the item's topics, and priority. An item aimed at another
// group or town is demoted, not hidden: the subscriber asked for it.
func (ix *Index) boost(it *content.Item, q Query, maxInterest int) float64 {
	b := 1.0
	b += 0.25 * audienceFit(it.Groups, q.Group)
	b += 0.25 * audienceFit(it.Towns, q.Town)
	if maxInterest > 0 {
		best := 0
		for _, t := range it.Topics {
			best = max(best, q.Interests[t])
		}
		b += 0.1 * float64(best) / float64(maxInterest)
	}
	b += 0.1 * float64(min(max(it.Priority, 0), 100)) / 100
	return b
}

// audienceFit is 1 when the item names the subscriber's id, 0.5 when the
// item is for everyone (or the subscriber's id is unknown), and -0.5 when
// it names others only.
func audienceFit(ids []string, id string) float64 {
	switch {
	case len(ids) == 0 || id == "":
		return 0.5
	case slices.Contains(ids, id):
		return 1
	default:
		return -0.5
	}
}

// better orders results: higher score, then higher priority, then external
// id and id for a stable order.
func better(score float64, it *content.Item, otherScore float64, other *content.Item) bool {
	if score != otherScore {
		return score > otherScore
	}
	if it.Priority != other.Priority {
		return it.Priority > other.Priority
	}
	if it.ExternalID != other.ExternalID {
		return it.ExternalID < other.ExternalID
	}
	return it.ID < other.ID
}

func (s *scratch) reset() {
	for _, d := range s.touched {
		s.score[d] = 0
		s.matched[d] = 0
	}
	s.touched = s.touched[:0]
}

// Bits of scratch.matched beside the first six query words': an item
// matched a later query word, or is about a topic the query names.
const (
	slotOverflow uint8 = 0x40
	topicMatch   uint8 = 0x80
)

func popcount(b uint8) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// Item returns the indexed item id (an answer's item picked later, as
// the index knew it).
func (ix *Index) Item(id string) (content.Item, bool) {
	for _, it := range ix.items {
		if it.ID == id {
			return it, true
		}
	}
	return content.Item{}, false
}
