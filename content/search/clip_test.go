package search

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Finding 6: a huge chat message is read as its first MaxQueryRunes
// characters: segmenting 255 KB of one repeated character took over 20 s.
func TestLongQueryClipped(t *testing.T) {
	t.Parallel()
	seg, err := DefaultSegmenter()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(seg, nil, map[string][]string{"litchi": {"荔枝"}})
	huge := strings.Repeat("荔", 85_000) // 255 KB
	done := make(chan []string, 1)
	go func() {
		ix.QueryTopics(huge)
		ix.Search(Query{Text: huge}, 3)
		done <- seg.Words(huge)
	}()
	select {
	case words := <-done:
		if want := seg.Words(strings.Repeat("荔", MaxQueryRunes)); strings.Join(words, " ") != strings.Join(want, " ") {
			t.Errorf("Words(255 KB) = %v, want the words of its first %d characters %v", words, MaxQueryRunes, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("segmenting a 255 KB message took over 5 s")
	}
	for _, s := range []string{"", "荔枝", strings.Repeat("a", 300), strings.Repeat("荔", 300)} {
		if got := Clip(s); utf8.RuneCountInString(got) > MaxQueryRunes || !strings.HasPrefix(s, got) || !utf8.ValidString(got) {
			t.Errorf("Clip(%d bytes) = %d runes", len(s), utf8.RuneCountInString(got))
		}
	}
}

// Finding 8: the demand log counts dictionary words only: no phone
// numbers, no names or strings nobody's dictionary has.
func TestDemandWordsAreDictionaryWords(t *testing.T) {
	t.Parallel()
	seg, err := DefaultSegmenter()
	if err != nil {
		t.Fatal(err)
	}
	got := seg.DemandWords("荔枝 施肥 13812345678 xq7zzk 电话138-1234-5678")
	joined := " " + strings.Join(got, " ") + " "
	for _, want := range []string{" 荔枝 ", " 施肥 "} {
		if !strings.Contains(joined, want) {
			t.Errorf("DemandWords = %v, lacks %q", got, want)
		}
	}
	for _, bad := range []string{"138", "1234", "5678", "xq7zzk", "13812345678"} {
		if strings.Contains(joined, bad) {
			t.Errorf("DemandWords = %v, keeps %q", got, bad)
		}
	}
}
