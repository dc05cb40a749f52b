package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/demand"
	"github.com/zengcheng-kexie/kepubot/content/search"
)

// ContentSearch answers free text with the chat search over the published
// items of the subscriber's own account: one index per account. Each
// query raises the subscriber's interest in the topics it names, and its
// words go to the demand log — off the request path, batched by Run, so a
// search costs no extra Redis round trip.
//
// The indexes follow the library as it changes (Sync, called when any
// replica announces a change): a search reads only memory.
type ContentSearch struct {
	indexes atomic.Pointer[map[string]*search.Index] // by account; replaced, never changed
	synced  sync.Map                                 // account → *accountSync
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

// Ready reports whether account's index is loaded (its searches answer
// nothing before).
func (s *ContentSearch) Ready(account string) bool { return s.Index(account) != nil }

// Index returns account's index, or nil before one is loaded.
func (s *ContentSearch) Index(account string) *search.Index {
	if m := s.indexes.Load(); m != nil {
		return (*m)[account]
	}
	return nil
}

// SetIndex replaces account's index.
func (s *ContentSearch) SetIndex(account string, ix *search.Index) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[string]*search.Index{}
	if m := s.indexes.Load(); m != nil {
		for k, v := range *m {
			next[k] = v
		}
	}
	next[account] = ix
	s.indexes.Store(&next)
}

// Library is the published library as the search reads it
// (content.Store).
type Library interface {
	Published(ctx context.Context, account string, q content.Query) ([]content.Item, error)
	LibraryVersion(ctx context.Context, account string) (int64, error)
}

// accountSync serialises the syncs of one account and remembers the
// library version its index holds.
type accountSync struct {
	mu      sync.Mutex
	version int64
	loaded  bool
}

// Sync brings account's index up to the library at time at, when its
// version moved since the last Sync (or always, with force: items whose
// validity began or ended). Only new or edited items are segmented again
// (search.Index.Update). topicWords are the taxonomy's, as for
// search.NewIndex; seg must be set (SetSegmenter).
func (s *ContentSearch) Sync(ctx context.Context, lib Library, account string, topicWords map[string][]string, at time.Time, force bool) error {
	v, _ := s.synced.LoadOrStore(account, &accountSync{})
	as := v.(*accountSync)
	as.mu.Lock()
	defer as.mu.Unlock()
	version, err := lib.LibraryVersion(ctx, account)
	if err != nil {
		return err
	}
	if as.loaded && version == as.version && !force {
		return nil
	}
	items, err := lib.Published(ctx, account, content.Query{At: at})
	if err != nil {
		return err
	}
	s.mu.Lock()
	seg := s.seg
	s.mu.Unlock()
	if seg == nil {
		return errors.New("chat search: no segmenter yet")
	}
	if old := s.Index(account); old != nil {
		s.SetIndex(account, old.Update(items))
	} else {
		s.SetIndex(account, search.NewIndex(seg, items, topicWords))
	}
	as.version, as.loaded = version, true
	return nil
}

// Search implements Searcher.
func (s *ContentSearch) Search(ctx context.Context, req *Request) (Reply, error) {
	ix := s.Index(req.Msg.Account)
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
	if p.Elder {
		return s.elderAnswer(req, res), nil
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

// elderAnswer is a search's answer in elder mode: plain text in short
// sentences. One item is shown at once; several are listed by number, and
// a digit shows that one (elderPick).
func (s *ContentSearch) elderAnswer(req *Request, res []search.Result) Reply {
	if len(res) == 1 {
		return Text(s.elderItem(req, &res[0].Item))
	}
	lines := []string{fmt.Sprintf(txtElderFound, len(res))}
	var opts []string
	for i, x := range res {
		lines = append(lines, strconv.Itoa(i+1)+" "+x.Item.Title)
		opts = append(opts, elderShowPrefix+x.Item.ID)
	}
	lines = append(lines, txtElderPickHint)
	req.Dialog = Dialog{Name: dialogElderPick, Data: strings.Join(opts, "\n")}
	return Text(strings.Join(lines, "\n"))
}

// elderItem is one item as elder mode shows it: its title, its short
// version (or summary) and the link.
func (s *ContentSearch) elderItem(req *Request, it *content.Item) string {
	u := it.URL
	if link := s.links.Load(); link != nil && !req.New {
		u = (*link)(req.Msg.Account, it, req.ID)
	}
	return "《" + it.Title + "》\n" + cmp.Or(it.Short, it.Summary) + "\n" + txtElderMore + u
}

// Show answers with item id of the account's index in elder mode's form
// (a digit picked it from a search's list).
func (s *ContentSearch) Show(_ context.Context, req *Request, id string) (Reply, error) {
	ix := s.Index(req.Msg.Account)
	if ix == nil {
		return Text(txtNothingFound), nil
	}
	it, ok := ix.Item(id)
	if !ok {
		return Text(txtNothingFound), nil
	}
	return Text(s.elderItem(req, &it)), nil
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
