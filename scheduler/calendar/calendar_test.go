package calendar_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/calendar"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func setup(t *testing.T) (*calendar.Service, context.Context) {
	t.Helper()
	svc, ctx, _ := setupWithProfiles(t)
	return svc, ctx
}

func setupWithProfiles(t *testing.T) (*calendar.Service, context.Context, *profile.Store) {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.Start(t)
	loc := shanghai
	profiles, err := profile.NewStore(ctx, rdb, loc)
	if err != nil {
		t.Fatal(err)
	}
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, loc)
	var ps []*profile.Profile
	for i := range 40 {
		g, tw := "farmer", "paitan"
		if i%2 == 1 {
			g, tw = "worker", "xintang"
		}
		ps = append(ps, &profile.Profile{OpenID: fmt.Sprintf("oCal%03d", i), Group: g, Town: tw, Subscribed: true, CreatedAt: now})
	}
	ps = append(ps, &profile.Profile{OpenID: "oCalGone", Group: "farmer", Town: "paitan", Subscribed: false, CreatedAt: now})
	if _, err := profiles.Import(ctx, "default", ps); err != nil {
		t.Fatal(err)
	}
	return calendar.New(calendar.Config{Redis: rdb, Profiles: profiles, Taxonomy: tax, Loc: loc, Now: func() time.Time { return now },
		Compile: func(expr string, at time.Time) (profile.Program, error) {
			e, err := segment.Parse(expr, tax)
			if err != nil {
				return nil, err
			}
			return e.Compile(at, loc), nil
		}}), ctx, profiles
}

func TestBookingsShareTheMonthlyBudget(t *testing.T) {
	t.Parallel()
	svc, ctx := setup(t)
	book := func(date, audience, dept string) (*calendar.Result, error) {
		return svc.Book(ctx, "default", calendar.Booking{Date: date, Audience: audience, Department: dept})
	}
	for i, dept := range []string{"科协", "农业农村局", "应急管理局"} {
		r, err := book(fmt.Sprintf("2027-03-%02d", 5+i), "group:farmer", dept)
		if err != nil || r.Warning != "" || r.Booking.Reach != 20 {
			t.Fatalf("booking %d = %+v, %v; want accepted, 20 reached, no warning", i+1, r, err)
		}
	}
	// The fourth uses the farmers' last send: the alert slot. Accepted, warned.
	r, err := book("2027-03-20", "town:paitan", "卫健局")
	if err != nil || r.LastSlot != 20 || !strings.Contains(r.Warning, "最后一条") {
		t.Fatalf("fourth booking = %+v, %v; want a warning about the last send of 20", r, err)
	}
	// A fifth to anyone of them is refused, in Chinese, and stores nothing.
	_, err = book("2027-03-25", "group:farmer | group:worker", "妇联")
	var over *calendar.OverBudgetError
	if !errors.As(err, &over) || over.Over != 20 || !strings.Contains(err.Error(), "超出群发额度") || !errors.Is(err, calendar.ErrOverBudget) {
		t.Fatalf("fifth booking = %v, want refused for 20 subscribers with a Chinese message", err)
	}
	// Others still have room.
	if r, err := book("2027-03-25", "group:worker", "妇联"); err != nil || r.Warning != "" {
		t.Fatalf("a workers' booking = %+v, %v; want accepted", r, err)
	}
	b, err := svc.Budget(ctx, "default", "2027-03")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Bookings) != 5 {
		t.Errorf("%d bookings stored, want 5 (the refused one is not)", len(b.Bookings))
	}
	find := func(rs []calendar.Remaining, id string) calendar.Remaining {
		for _, r := range rs {
			if r.ID == id {
				return r
			}
		}
		t.Fatalf("no %s in %+v", id, rs)
		return calendar.Remaining{}
	}
	for _, tc := range []struct {
		got                       calendar.Remaining
		subscribers, minLeft, exh int64
	}{
		{find(b.Groups, "farmer"), 20, 0, 20},
		{find(b.Groups, "worker"), 20, 3, 0},
		{find(b.Towns, "paitan"), 20, 0, 20},
		{find(b.Towns, "xintang"), 20, 3, 0},
		{find(b.Towns, "zhengguo"), 0, 4, 0},
	} {
		if tc.got.Subscribers != tc.subscribers || int64(tc.got.MinLeft) != tc.minLeft || tc.got.Exhausted != tc.exh {
			t.Errorf("%s = %+v, want %d subscribers, min left %d, %d exhausted", tc.got.ID, tc.got, tc.subscribers, tc.minLeft, tc.exh)
		}
	}
}

func TestBadBookingsAreRefusedInChinese(t *testing.T) {
	t.Parallel()
	svc, ctx := setup(t)
	for _, tc := range []struct {
		b     calendar.Booking
		field string
	}{
		{calendar.Booking{Date: "15/03/2027", Audience: "group:farmer", Department: "科协"}, "date"},
		{calendar.Booking{Date: "2027-02-01", Audience: "group:farmer", Department: "科协"}, "date"},
		{calendar.Booking{Date: "2027-03-15", Audience: "group:pirate", Department: "科协"}, "audience"},
		{calendar.Booking{Date: "2027-03-15", Audience: "group:farmer"}, "department"},
	} {
		_, err := svc.Book(ctx, "default", tc.b)
		var ve *content.ValidationError
		if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
			t.Errorf("Book(%+v) = %v, want a message for %s", tc.b, err, tc.field)
		}
	}
	if b, err := svc.Budget(ctx, "default", "2027-03"); err != nil || len(b.Bookings) != 0 {
		t.Errorf("after refused bookings: %+v, %v; want none stored", b, err)
	}
	if _, err := svc.Budget(ctx, "default", "March"); err == nil {
		t.Error("Budget(March) accepted a bad month")
	}
}

// TestBudgetCountsSendsMade: the mass sends the delivery core made this
// month (its spend) count against the budget with the bookings ahead; a
// month ahead starts afresh.
func TestBudgetCountsSendsMade(t *testing.T) {
	t.Parallel()
	svc, ctx, profiles := setupWithProfiles(t)
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, shanghai)
	var sent []string
	for i := 0; i < 20; i += 2 { // ten farmers, twice each
		sent = append(sent, fmt.Sprintf("oCal%03d", i))
	}
	for range 2 {
		for _, o := range sent {
			_, id, err := profiles.Get(ctx, "default", o)
			if err != nil {
				t.Fatal(err)
			}
			if err := profiles.SpendMass(ctx, "default", id.Shard, plan.MonthNumber(now, shanghai), []int64{id.Local}); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, err := svc.Budget(ctx, "default", "2027-03")
	if err != nil {
		t.Fatal(err)
	}
	if f := b.Groups[indexOf(b.Groups, "farmer")]; f.Sent != 20 || f.MinLeft != 2 || f.Exhausted != 0 {
		t.Errorf("farmers = %+v, want 20 sent, 2 left at least", f)
	}
	if w := b.Groups[indexOf(b.Groups, "worker")]; w.Sent != 0 || w.MinLeft != 4 {
		t.Errorf("workers = %+v, want none sent, 4 left", w)
	}
	book := func(date string) (*calendar.Result, error) {
		return svc.Book(ctx, "default", calendar.Booking{Date: date, Audience: "group:farmer", Department: "科协"})
	}
	if r, err := book("2027-03-10"); err != nil || r.LastSlot != 0 {
		t.Fatalf("first booking = %+v, %v; want accepted", r, err)
	}
	if r, err := book("2027-03-12"); err != nil || r.LastSlot != 10 {
		t.Fatalf("second booking = %+v, %v; want the last send of the ten sent twice", r, err)
	}
	var over *calendar.OverBudgetError
	if _, err := book("2027-03-14"); !errors.As(err, &over) || over.Over != 10 {
		t.Fatalf("third booking = %v; want refused for the ten", err)
	}
	b, err = svc.Budget(ctx, "default", "2027-04")
	if err != nil {
		t.Fatal(err)
	}
	if f := b.Groups[indexOf(b.Groups, "farmer")]; f.Sent != 0 || f.MinLeft != 4 {
		t.Errorf("next month's farmers = %+v, want a fresh budget", f)
	}
}

func indexOf(rs []calendar.Remaining, id string) int {
	for i, r := range rs {
		if r.ID == id {
			return i
		}
	}
	return -1
}
