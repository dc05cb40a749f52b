package admin

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// Subscriber is a profile as the admin API shows it (contract: fields are
// added, never renamed).
type Subscriber struct {
	OpenID    string   `json:"openid"`
	ID        uint64   `json:"id"`
	Group     string   `json:"group"`
	Town      string   `json:"town"`
	Interests []string `json:"interests"`
	// Weights are the interest weights by topic id, 0–255, as learned
	// from choices and behaviour (0: the subscriber said 不看).
	Weights map[string]int `json:"interest_weights"`
	// BestHour is the local hour the subscriber usually reads at, from
	// their messages and clicks; null while unknown.
	BestHour     *int      `json:"best_hour"`
	Subscribed   bool      `json:"subscribed"`
	OptedOut     bool      `json:"opted_out"`
	Elder        bool      `json:"elder"` // elder mode (长辈模式)
	Source       string    `json:"source"`
	CreatedAt    time.Time `json:"created_at"`
	LastActiveAt time.Time `json:"last_active_at"`
}

// RegisterSubscribers adds the subscriber routes. Profiles are personal
// information: only admins and organizers read them, only admins erase.
//
// erasers delete what other packages keep about a subscriber (quiz
// answers, sign-ups); DELETE runs them as 删除我的数据 does, so an erasure
// by an admin is as complete as one asked for in the chat.
func RegisterSubscribers(s *Server, store *profile.Store, erasers ...bot.Eraser) {
	s.Handle("GET /api/v1/subscribers/{openid}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		if !profile.ValidOpenID(r.PathValue("openid")) {
			return nil, ErrNotFound // no subscriber has such an openid
		}
		p, id, err := store.Get(r.Context(), Account(r), r.PathValue("openid"))
		if errors.Is(err, profile.ErrNotFound) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		return subscriberJSON(p, id, store.Location()), nil
	}, RoleOrganizer)

	s.Handle("DELETE /api/v1/subscribers/{openid}", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		if !profile.ValidOpenID(r.PathValue("openid")) {
			return nil, ErrNotFound
		}
		for _, e := range erasers {
			if err := e.Erase(r.Context(), Account(r), r.PathValue("openid")); err != nil {
				return nil, fmt.Errorf("erase subscriber data: %w", err)
			}
		}
		found := false
		err := store.Update(r.Context(), Account(r), r.PathValue("openid"), func(p *profile.Profile) (*profile.Profile, error) {
			found = p != nil
			return nil, nil
		})
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, ErrNotFound
		}
		return nil, nil
	})

	s.Handle("GET /api/v1/subscribers/count", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		c, err := store.Count(r.Context(), Account(r), profile.Reachable(), nil, nil)
		if err != nil {
			return nil, err
		}
		return map[string]int64{"reachable": c.Total}, nil
	}, Roles()...)
}

func subscriberJSON(p *profile.Profile, id profile.ID, loc *time.Location) Subscriber {
	s := Subscriber{
		OpenID: p.OpenID, ID: id.Uint64(), Group: p.Group, Town: p.Town,
		Interests: p.InterestIDs(), Weights: make(map[string]int, len(p.Interests)),
		Subscribed: p.Subscribed, OptedOut: p.OptedOut, Elder: p.Elder, Source: p.Source,
		CreatedAt: p.CreatedAt, LastActiveAt: p.LastActiveAt,
	}
	for _, in := range p.Interests {
		s.Weights[in.Topic] = int(in.Weight)
	}
	if h, ok := p.Reading.BestHour(loc); ok {
		s.BestHour = &h
	}
	return s
}
