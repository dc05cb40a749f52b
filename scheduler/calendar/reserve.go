package calendar

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoBooking: no booking has that id.
var ErrNoBooking = errors.New("booking not found")

// Get returns booking id of account, or ErrNoBooking.
func (s *Service) Get(ctx context.Context, account, id string) (*Booking, error) {
	month, err := s.cfg.Redis.HGet(ctx, idsKey(account), id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNoBooking
	}
	if err != nil {
		return nil, fmt.Errorf("booking %s: %w", id, err)
	}
	bs, err := s.bookings(ctx, account, month)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		if b.ID == id {
			return &b, nil
		}
	}
	return nil, ErrNoBooking
}

// Link records that a campaign sends booking id's mass send: sent names
// the bitmap (in the profile shards) of whom it sent by mass send. Those
// subscribers' send is then made, no longer held by the booking.
func (s *Service) Link(ctx context.Context, account, id, sent string) error {
	b, err := s.Get(ctx, account, id)
	if err != nil {
		return err
	}
	_, err = s.cfg.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, linksKey(account, id), sent)
		p.Expire(ctx, linksKey(account, id), s.keepFor(b.Date))
		return nil
	})
	if err != nil {
		return fmt.Errorf("link booking %s: %w", id, err)
	}
	return nil
}

// Reservations is what the month's bookings hold, as a campaign sending
// on one day reads them: bitmaps of the profile shards, read by the
// delivery core for each range of subscribers it decides.
type Reservations struct {
	// Own is the audience of the campaign's own booking, when it is for
	// that day ("" none); OwnSpent are whom the booking's other
	// campaigns already sent it to by mass send.
	Own      string
	OwnSpent []string
	// Held are the month's other bookings dated that day or later.
	Held []Held
}

// Held is a booking holding a mass send for its audience.
type Held struct {
	ID, Department string
	Audience       string   // bitmap of its audience as booked
	Spent          []string // bitmaps of whom its campaigns sent by mass send
}

// Indexes lists the bitmaps to read for Count, in its order.
func (r *Reservations) Indexes() []string {
	var out []string
	if r.Own != "" {
		out = append(append(out, r.Own), r.OwnSpent...)
	}
	for _, h := range r.Held {
		out = append(append(out, h.Audience), h.Spent...)
	}
	return out
}

// Count says, for bit i of bits read over Indexes, whether the own
// booking holds a send for that subscriber, and how many sends the other
// bookings hold.
func (r *Reservations) Count(bits [][]byte, i int64) (own bool, others int) {
	at := 0
	if r.Own != "" {
		n := 1 + len(r.OwnSpent)
		own = held(bits[:n], i)
		at = n
	}
	for _, h := range r.Held {
		n := 1 + len(h.Spent)
		if held(bits[at:at+n], i) {
			others++
		}
		at += n
	}
	return own, others
}

// Allows is the calendar's rule for one more mass send to a subscriber
// who was sent used mass messages this month: within their own booking,
// while WeChat's Limit is not reached; otherwise only out of what other
// bookings (others sends) do not hold, and without the AlertReserve
// unless the send is a hazard alert.
func Allows(used int, own bool, others int, alert bool) bool {
	if own {
		return used < Limit
	}
	reserve := AlertReserve
	if alert {
		reserve = 0
	}
	return used+others+reserve < Limit
}

// Reservations returns the bookings a campaign sending at at reads:
// booking (its own, "" none) when it is for at's day, and the month's
// other bookings dated that day or later. sent is the campaign's own
// bitmap of whom it sent by mass send (left out of OwnSpent).
func (s *Service) Reservations(ctx context.Context, account, booking, sent string, at time.Time) (*Reservations, error) {
	day := at.In(s.cfg.Loc)
	bs, err := s.bookings(ctx, account, day.Format("2006-01"))
	if err != nil {
		return nil, err
	}
	hs, err := s.holds(ctx, account, bs, day.Format("2006-01-02"))
	if err != nil {
		return nil, err
	}
	r := &Reservations{}
	for _, h := range hs {
		if h.b.ID == booking && h.b.Date == day.Format("2006-01-02") {
			r.Own = audienceIndex(h.b.ID)
			for _, x := range h.spent {
				if x != sent {
					r.OwnSpent = append(r.OwnSpent, x)
				}
			}
			continue
		}
		r.Held = append(r.Held, Held{ID: h.b.ID, Department: h.b.Department, Audience: audienceIndex(h.b.ID), Spent: h.spent})
	}
	return r, nil
}
