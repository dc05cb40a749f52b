package bot

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/demand"
	"github.com/zengcheng-kexie/kepubot/content/search"
)

// ContentSearch answers free text with the chat search over published
// items. Each query raises the subscriber's interest in the topics it
// names, and its words go to the demand log — off the request path,
// batched by Run, so a search costs no extra Redis round trip.
type ContentSearch struct {
	index   atomic.Pointer[search.Index]
	mu      sync.Mutex
	seg     *search.Segmenter
	demand  *demand.Log
	records chan demandRecord
	logger  *slog.Logger
	links   atomic.Pointer[LinkFunc]
}

// LinkFunc returns the tracked link to it for the subscriber id, as a
// chat search answers with it: opening it teaches the subscriber's
// interests like a click on a pushed link (the campaign engine's
// SearchURL).
type LinkFunc func(account string, it *content.Item, id profile.ID) string

type demandRecord struct {
	account, group, town string
	words                []string
	at                   time.Time
}

// searchResults is how many items a search answers with.
const searchResults = 3

// searchBoost is how much a query raises interest in a topic it names:
// more than a group and a town match together in the scoring
// (scheduler/plan), less than opening an item.
const searchBoost = 20

// NewContentSearch returns a searcher with no index yet (it answers
// nothing until SetIndex).
func NewContentSearch(seg *search.Segmenter, d *demand.Log, logger *slog.Logger) *ContentSearch {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &ContentSearch{seg: seg, demand: d, records: make(chan demandRecord, 4096), logger: logger.With("component", "search")}
}

// SetSegmenter sets the word segmenter (loaded in the background: it
// takes seconds).
func (s *ContentSearch) SetSegmenter(seg *search.Segmenter) {
	s.mu.Lock()
	s.seg = seg
	s.mu.Unlock()
}

// SetLinks makes the answers' links tracked links (without it they lead
// straight to the items).
func (s *ContentSearch) SetLinks(f LinkFunc) { s.links.Store(&f) }

// Ready reports whether an index is loaded (searches answer nothing before).
func (s *ContentSearch) Ready() bool { return s.index.Load() != nil }

// SetIndex replaces the index (rebuilt when the library changes).
func (s *ContentSearch) SetIndex(ix *search.Index) { s.index.Store(ix) }

// Search implements Searcher.
func (s *ContentSearch) Search(ctx context.Context, req *Request) (Reply, error) {
	ix := s.index.Load()
	if ix == nil {
		return Reply{}, nil
	}
	// The search reads the first search.MaxQueryRunes characters only
	// (segmentation is quadratic in repeats), and gives up at the
	// request's deadline rather than answer after WeChat stopped waiting.
	if err := ctx.Err(); err != nil {
		return Reply{}, err
	}
	p := req.Profile
	q := search.Query{Text: req.Msg.Text, Group: p.Group, Town: p.Town, Interests: map[string]int{}}
	for _, in := range p.Interests {
		q.Interests[in.Topic] = int(in.Weight)
	}
	if topics := ix.QueryTopics(req.Msg.Text); len(topics) > 0 {
		p.DecayInterests(req.Now)
		for _, t := range topics {
			p.AddInterestWeight(t, searchBoost)
		}
	}
	s.mu.Lock()
	seg := s.seg
	s.mu.Unlock()
	if s.demand != nil && seg != nil {
		select {
		case s.records <- demandRecord{account: req.Msg.Account, group: p.Group, town: p.Town, words: seg.DemandWords(req.Msg.Text), at: req.Now}:
		default: // the log is behind: drop a count rather than slow a reply
		}
	}
	if err := ctx.Err(); err != nil {
		return Reply{}, err
	}
	res := ix.Search(q, searchResults)
	if len(res) == 0 {
		return Reply{}, nil
	}
	r := Reply{}
	link := s.links.Load()
	for _, x := range res {
		summary := x.Item.Summary
		if x.Item.Short != "" {
			summary = x.Item.Short
		}
		u := x.Item.URL
		if link != nil && !req.New {
			u = (*link)(req.Msg.Account, &x.Item, req.ID)
		}
		r.Articles = append(r.Articles, Article{Title: x.Item.Title, Description: summary, URL: u, PicURL: x.Item.CoverURL})
	}
	return r, nil
}

// Run writes demand records until ctx ends.
func (s *ContentSearch) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-s.records:
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			if err := s.demand.Record(wctx, r.account, r.words, r.group, r.town, r.at); err != nil {
				s.logger.Warn("demand log write failed", "err", err)
			}
			cancel()
		}
	}
}
