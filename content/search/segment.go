package search

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-ego/gse"
)

// Segmenter splits Chinese (and mixed Chinese–Latin) text into words with
// go-ego/gse and its embedded simplified-Chinese dictionary. Loading the
// dictionary takes about 1.6 s and 130 MiB of heap, so a process should
// load it once: use [DefaultSegmenter], or build one with [NewSegmenter]
// and pass it around. A loaded Segmenter is safe for concurrent use.
type Segmenter struct {
	seg gse.Segmenter
}

var (
	defaultOnce sync.Once
	defaultSeg  *Segmenter
	defaultErr  error
)

// DefaultSegmenter returns the process-wide Segmenter, loading it on
// first use.
func DefaultSegmenter() (*Segmenter, error) {
	defaultOnce.Do(func() { defaultSeg, defaultErr = NewSegmenter() })
	return defaultSeg, defaultErr
}

// NewSegmenter loads gse's embedded simplified-Chinese dictionary ("zh_s",
// the smallest that segments simplified Chinese well; "zh" adds the
// traditional dictionary for twice the load time) and its stop words.
func NewSegmenter() (*Segmenter, error) {
	s := &Segmenter{}
	if err := s.seg.LoadDictEmbed("zh_s"); err != nil {
		return nil, fmt.Errorf("load gse dictionary: %w", err)
	}
	if err := s.seg.LoadStopEmbed(); err != nil {
		return nil, fmt.Errorf("load gse stop words: %w", err)
	}
	return s, nil
}

// Words returns the words of a query: accurate-mode segmentation,
// lower-cased, without stop words, spaces and punctuation, in order and
// without repeats.
func (s *Segmenter) Words(text string) []string {
	return s.clean(s.seg.Cut(normalize(Clip(text)), true))
}

// DemandWords returns the words of a query that the demand log may count
// (the log itself drops words shorter than two characters):
// dictionary words without digits. What a resident typed that is not a
// dictionary word (a name, a phone or ID number, an address) is never
// kept, so the log's counts name nobody.
func (s *Segmenter) DemandWords(text string) []string {
	words := s.Words(text)
	out := words[:0]
	for _, w := range words {
		if _, _, ok := s.seg.Find(w); ok && !strings.ContainsFunc(w, unicode.IsDigit) {
			out = append(out, w)
		}
	}
	return out
}

// MaxQueryRunes is how much of a chat message is read as a query.
// Segmentation takes time quadratic in a run of repeated characters (4,000
// take 70 ms, 85,000 over 20 s); no query is this long.
const MaxQueryRunes = 200

// Clip cuts text to its first MaxQueryRunes characters.
func Clip(text string) string {
	if len(text) <= MaxQueryRunes {
		return text
	}
	n := 0
	for i := range text {
		if n == MaxQueryRunes {
			return text[:i]
		}
		n++
	}
	return text
}

// indexWords segments item text in search mode, which adds the shorter
// words inside long ones (电动车 → 电动, 动车, 电动车) so a short query
// word still finds a long text word. Repeats are kept: they count.
func (s *Segmenter) indexWords(text string) []string {
	words := s.seg.CutSearch(normalize(text), true)
	out := words[:0]
	for _, w := range words {
		if s.keep(w) {
			out = append(out, w)
		}
	}
	return out
}

// subWords returns the shorter dictionary words inside w, for a query word
// no item contains.
func (s *Segmenter) subWords(w string) []string {
	var out []string
	for _, sub := range s.clean(s.seg.CutSearch(w, true)) {
		if sub != w {
			out = append(out, sub)
		}
	}
	return out
}

func (s *Segmenter) clean(words []string) []string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		if s.keep(w) && !contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

func (s *Segmenter) keep(w string) bool {
	if w == "" || s.seg.IsStop(w) {
		return false
	}
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false // spaces, punctuation, symbols
}

// normalize lower-cases text and folds full-width Latin letters and digits
// (ＡＩ, ５Ｇ), which phone keyboards produce, to their ASCII forms.
func normalize(text string) string {
	return strings.Map(func(r rune) rune {
		if r >= '！' && r <= '～' && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			r -= '！' - '!'
		}
		return unicode.ToLower(r)
	}, strings.TrimSpace(text))
}

func contains(ws []string, w string) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
