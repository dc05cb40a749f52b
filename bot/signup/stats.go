package signup

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/export"
)

// Counts are an event's numbers for one slice of people.
type Counts struct {
	Invited    int64 `json:"invited"`    // the notice campaign's sent count
	SignedUp   int64 `json:"signed_up"`  // confirmed
	Waitlisted int64 `json:"waitlisted"` // on the waiting list
	Reminded   int64 `json:"reminded"`   // confirmed attendees reminded at least once
	Attended   int64 `json:"attended"`   // checked in
	Feedback   int64 `json:"feedback"`   // answered the feedback question
}

// Stats are an event's numbers, in total and by town and group (of the
// subscriber when they signed up or checked in; "" when unknown).
type Stats struct {
	Event    string            `json:"event"`
	Campaign string            `json:"campaign,omitempty"`
	Total    Counts            `json:"total"`
	Answers  map[string]int64  `json:"feedback_answers"` // "1" helpful, "2" so-so, "3" not helpful
	Reasons  map[string]int64  `json:"undelivered,omitempty"`
	ByTown   map[string]Counts `json:"by_town"`
	ByGroup  map[string]Counts `json:"by_group"`
}

// Stats counts event id's numbers. The sets of an event are small (its
// capacity and waiting list), so they are read whole.
func (s *Service) Stats(ctx context.Context, account, id string) (Stats, error) {
	ev, err := s.event(ctx, account, id)
	if err != nil {
		return Stats{}, err
	}
	k := keysFor(account, ev.ID)
	var conf, wait, att *redis.StringSliceCmd
	var whoM, fb, reasons, meta *redis.MapStringStringCmd
	rem := make([]*redis.StringSliceCmd, len(ev.Reminders))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		conf, wait, att = p.ZRange(ctx, k.confirmed(), 0, -1), p.ZRange(ctx, k.waitlist(), 0, -1), p.ZRange(ctx, k.attended(), 0, -1)
		whoM, fb, reasons, meta = p.HGetAll(ctx, k.who()), p.HGetAll(ctx, k.feedback()), p.HGetAll(ctx, k.reasons()), p.HGetAll(ctx, k.meta())
		for i, off := range ev.Reminders {
			rem[i] = p.SMembers(ctx, k.reminded(off))
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("event stats %s: %w", id, err)
	}
	st := Stats{Event: ev.ID, Answers: map[string]int64{}, Reasons: map[string]int64{},
		ByTown: map[string]Counts{}, ByGroup: map[string]Counts{}}
	add := func(openID string, f func(c *Counts)) {
		f(&st.Total)
		group, town, _ := strings.Cut(whoM.Val()[openID], "|")
		ct, cg := st.ByTown[town], st.ByGroup[group]
		f(&ct)
		f(&cg)
		st.ByTown[town], st.ByGroup[group] = ct, cg
	}
	for _, o := range conf.Val() {
		add(o, func(c *Counts) { c.SignedUp++ })
	}
	for _, o := range wait.Val() {
		add(o, func(c *Counts) { c.Waitlisted++ })
	}
	for _, o := range att.Val() {
		add(o, func(c *Counts) { c.Attended++ })
	}
	reminded := map[string]bool{}
	for _, r := range rem {
		for _, o := range r.Val() {
			if !reminded[o] {
				reminded[o] = true
				add(o, func(c *Counts) { c.Reminded++ })
			}
		}
	}
	for o, a := range fb.Val() {
		st.Answers[a]++
		add(o, func(c *Counts) { c.Feedback++ })
	}
	for r, n := range reasons.Val() {
		st.Reasons[r], _ = strconv.ParseInt(n, 10, 64)
	}
	if id := meta.Val()["campaign"]; id != "" && s.cfg.Campaigns != nil && s.cfg.Engine != nil {
		st.Campaign = id
		if err := s.invited(ctx, account, id, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

// invited fills the invited counts from the notice campaign.
func (s *Service) invited(ctx context.Context, account, id string, st *Stats) error {
	c, err := s.cfg.Campaigns.Get(ctx, account, id)
	if err != nil {
		return fmt.Errorf("notice campaign %s: %w", id, err)
	}
	var towns, groups []string
	if s.cfg.Tax != nil {
		for _, t := range s.cfg.Tax.Towns {
			towns = append(towns, t.ID)
		}
		for _, g := range s.cfg.Tax.Groups {
			groups = append(groups, g.ID)
		}
	}
	cs, err := s.cfg.Engine.Stats(ctx, c, towns, groups)
	if err != nil {
		return fmt.Errorf("notice campaign %s: %w", id, err)
	}
	st.Total.Invited = cs.Sent
	for t, n := range cs.ByTown {
		c := st.ByTown[t]
		c.Invited = n
		st.ByTown[t] = c
	}
	for g, n := range cs.ByGroup {
		c := st.ByGroup[g]
		c.Invited = n
		st.ByGroup[g] = c
	}
	return nil
}

// WriteCSV writes the statistics as CSV: a total row, then one row per
// town and per group, sorted.
func (st Stats) WriteCSV(w io.Writer) error {
	cw := export.NewCSV(w)
	cw.Write([]string{"dimension", "key", "invited", "signed_up", "waitlisted", "reminded", "attended", "feedback"})
	row := func(dim, key string, c Counts) {
		cw.Write([]string{dim, key, itoa(c.Invited), itoa(c.SignedUp), itoa(c.Waitlisted), itoa(c.Reminded), itoa(c.Attended), itoa(c.Feedback)})
	}
	row("total", "", st.Total)
	for _, dim := range []struct {
		name string
		m    map[string]Counts
	}{{"town", st.ByTown}, {"group", st.ByGroup}} {
		keys := make([]string, 0, len(dim.m))
		for k := range dim.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row(dim.name, k, dim.m[k])
		}
	}
	cw.Flush()
	return cw.Error()
}
