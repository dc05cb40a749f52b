package quiz

import (
	"context"
	"sync"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/segment"
)

// library reads competitions and questions through a short-lived memory
// cache: every answer needs its competition and question, and the webhook
// has two Redis round trips of its own to spend. An organizer's edit
// reaches the chat within the cache's TTL.
type library struct {
	q   *Quiz
	ttl time.Duration

	mu    sync.Mutex
	comps map[string]cached[*compiled] // account|id
	qs    map[string]cached[*content.Question]
	live  map[string]cached[[]*compiled] // account → published competitions
	bank  map[string]cached[[]string]    // account → every question id
}

type cached[T any] struct {
	v  T
	at time.Time
}

// compiled is a competition with its audience compiled.
type compiled struct {
	content.Competition
	audience *segment.Expr // nil: everyone
}

func newLibrary(q *Quiz, ttl time.Duration) *library {
	return &library{q: q, ttl: ttl, comps: map[string]cached[*compiled]{}, qs: map[string]cached[*content.Question]{},
		live: map[string]cached[[]*compiled]{}, bank: map[string]cached[[]string]{}}
}

func get[T any](l *library, m map[string]cached[T], key string, load func() (T, error)) (T, error) {
	now := time.Now()
	l.mu.Lock()
	c, ok := m[key]
	l.mu.Unlock()
	if ok && now.Sub(c.at) < l.ttl {
		return c.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	if l.ttl > 0 {
		l.mu.Lock()
		m[key] = cached[T]{v: v, at: now}
		l.mu.Unlock()
	}
	return v, nil
}

func (l *library) competition(ctx context.Context, account, id string) (*compiled, error) {
	return get(l, l.comps, account+"|"+id, func() (*compiled, error) {
		c, err := l.q.content.Competition(ctx, account, id)
		if err != nil {
			return nil, err
		}
		return l.compile(c)
	})
}

func (l *library) compile(c content.Competition) (*compiled, error) {
	out := &compiled{Competition: c}
	if c.Audience != "" {
		e, err := segment.Parse(c.Audience, l.q.tax)
		if err != nil {
			return nil, err
		}
		out.audience = e
	}
	return out, nil
}

// open reports whether p may join c: the audience matches (reachable or
// not: a subscriber who said 退订 may still play).
func (c *compiled) open(p *profile.Profile, now time.Time, loc *time.Location) bool {
	if c.audience == nil {
		return true
	}
	return Matches(c.audience.Compile(now, loc), p, loc)
}

func (l *library) question(ctx context.Context, account, id string) (*content.Question, error) {
	return get(l, l.qs, account+"|"+id, func() (*content.Question, error) {
		q, err := l.q.content.Question(ctx, account, id)
		if err != nil {
			return nil, err
		}
		return &q, nil
	})
}

// published lists the account's published competitions, newest first.
func (l *library) published(ctx context.Context, account string) ([]*compiled, error) {
	return get(l, l.live, account, func() ([]*compiled, error) {
		cs, _, err := l.q.content.Competitions(ctx, account, content.StatusPublished, 0, 0)
		if err != nil {
			return nil, err
		}
		out := make([]*compiled, 0, len(cs))
		for _, c := range cs {
			cc, err := l.compile(c)
			if err != nil {
				continue // a bad audience: nobody can join until it is fixed
			}
			out = append(out, cc)
		}
		return out, nil
	})
}

// questionBank lists every question id of the account, for competitions
// that draw question_count questions at random.
func (l *library) questionBank(ctx context.Context, account string) ([]string, error) {
	return get(l, l.bank, account, func() ([]string, error) {
		qs, _, err := l.q.content.Questions(ctx, account, content.QuestionFilter{})
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(qs))
		for i, q := range qs {
			ids[i] = q.ID
		}
		return ids, nil
	})
}
