package campaign_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/calendar"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// TestBookingsDecideMassSends: the mass sends of a month go by the shared
// calendar. Farmers are booked by three departments (one today) and one
// send is kept for alerts: another department's unbooked campaign reaches
// them only where a customer-service window is open (the rest: reason
// "reserved", in its dry run too), while workers, booked by nobody, get it
// by mass send. The booked department's campaign reaches every farmer; the
// budget then counts the sends made and the bookings still ahead, once
// each; a hazard alert may still use the send kept for it.
func TestBookingsDecideMassSends(t *testing.T) {
	t.Parallel()
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	var cal *calendar.Service
	b := setup(t, clock.Now, func(b *bundle, cfg *campaign.Config) {
		cal = calendar.New(calendar.Config{Redis: b.rdb, Profiles: b.profiles, Taxonomy: tax, Loc: shanghai, Now: clock.Now,
			Compile: func(expr string, at time.Time) (profile.Program, error) {
				e, err := segment.Parse(expr, tax)
				if err != nil {
					return nil, err
				}
				return e.Compile(at, shanghai), nil
			}})
		cfg.Calendar = cal
		cfg.Caps = plan.Caps{PerDay: 9, PerWeek: 20} // this test is about the monthly budget
	})
	const farmers, workers, windows = 30, 20, 5
	var ps []*profile.Profile
	kind := map[string]string{}
	for i := range farmers + workers {
		p := &profile.Profile{OpenID: fmt.Sprintf("oBk%s%03d", b.appID[6:], i), Group: "farmer", Town: "paitan", Subscribed: true, CreatedAt: b.now()}
		kind[p.OpenID] = "farmer"
		if i >= farmers {
			p.Group, p.Town, kind[p.OpenID] = "worker", "xintang", "worker"
		} else if i < windows { // wrote to the bot: the window is open
			p.TouchMessage(clock.Now())
			fake.UserMessage(b.appID, p.OpenID)
			kind[p.OpenID] = "farmer-window"
		}
		fake.Follow(b.appID, p.OpenID)
		ps = append(ps, p)
	}
	if _, err := b.profiles.Import(b.ctx, "default", ps); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"it3", "it4"} {
		it := *b.items["it1"]
		it.ID = id
		b.items[id] = &it
	}
	today := clock.Now().In(shanghai).Format("2006-01-02")
	var own string
	for _, bk := range []calendar.Booking{
		{Date: today, Audience: "group:farmer", Department: "科协"},
		{Date: "2027-04-20", Audience: "group:farmer", Department: "农业农村局"},
		{Date: "2027-04-25", Audience: "group:farmer", Department: "卫健局"},
	} {
		r, err := cal.Book(b.ctx, "default", bk)
		if err != nil {
			t.Fatalf("book %+v: %v", bk, err)
		}
		if own == "" {
			own = r.Booking.ID
		}
	}
	b.run(t, "w", 4)
	// run creates a campaign through the service (validation, booking
	// link), starts it and returns its stats and what each kind of
	// subscriber received (messages per subscriber, summed).
	run := func(d campaign.Draft) (campaign.Stats, map[string]int) {
		t.Helper()
		before := map[string]int{}
		for _, p := range ps {
			before[p.OpenID] = len(fake.Delivered(b.appID, p.OpenID))
		}
		c, err := b.engine.Create(b.ctx, "default", d)
		if err != nil {
			t.Fatalf("create %+v: %v", d, err)
		}
		if _, err := b.engine.Change(b.ctx, "default", c.ID, campaign.ActStart); err != nil {
			t.Fatal(err)
		}
		c = b.waitDone(t, c.ID, 30*time.Second)
		st, err := b.engine.Stats(b.ctx, c, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, p := range ps {
			got[kind[p.OpenID]] += len(fake.Delivered(b.appID, p.OpenID)) - before[p.OpenID]
		}
		return st, got
	}
	check := func(name string, st campaign.Stats, got map[string]int, mass, custom, reserved int64, want map[string]int) {
		t.Helper()
		if st.ByChannel["mass"] != mass || st.ByChannel["custom"] != custom || st.Reasons["skipped:"+campaign.ReasonReserved] != reserved || st.Pending != 0 {
			t.Errorf("%s: stats %+v; want %d by mass, %d by custom, %d reserved", name, st, mass, custom, reserved)
		}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%s: %s received %d messages, want %d (all: %v)", name, k, got[k], n, got)
			}
		}
	}

	// Another department, no booking: its dry run says who is held back.
	draft := campaign.Draft{Name: "妇联宣传", Audience: "group:farmer | group:worker", ItemID: "it1", Department: "妇联"}
	dry, err := b.engine.Create(b.ctx, "default", draft)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := b.engine.Plan(b.ctx, dry, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ByChannel["mass"] != workers || rep.ByChannel["custom"] != windows || rep.Unreachable[campaign.ReasonReserved] != farmers-windows {
		t.Errorf("dry run = %+v; want %d by mass, %d by custom, %d reserved", rep, workers, windows, farmers-windows)
	}
	st, got := run(draft)
	check("unbooked", st, got, workers, windows, farmers-windows, map[string]int{"worker": workers, "farmer-window": windows, "farmer": 0})

	// A booking of another department, or for another day, is refused.
	for _, d := range []campaign.Draft{
		{Name: "x", ItemID: "it2", Booking: own, Department: "妇联"},
		{Name: "x", ItemID: "it2", Booking: own, SendAt: ptr(clock.Now().Add(48 * time.Hour))},
		{Name: "x", ItemID: "it2", Booking: "bk999"},
	} {
		if _, err := b.engine.Create(b.ctx, "default", d); err == nil {
			t.Errorf("Create(%+v) accepted", d)
		}
	}

	// The booked department reaches every farmer.
	st, got = run(campaign.Draft{Name: "科协荔枝", Audience: "group:farmer", ItemID: "it2", Booking: own})
	check("booked", st, got, farmers-windows, windows, 0, map[string]int{"worker": 0, "farmer-window": windows, "farmer": farmers - windows})

	// The budget counts each send once: made (1 to each farmer sent by
	// mass send, 1 to each worker), and the two bookings still ahead.
	bud, err := cal.Budget(b.ctx, "default", "2027-04")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range bud.Groups {
		switch r.ID {
		case "farmer":
			if r.Subscribers != farmers || r.Sent != farmers-windows || r.MinLeft != 1 || r.Exhausted != 0 {
				t.Errorf("farmers' budget = %+v; want %d sent by mass, 1 left at least (4 − 1 made − 2 booked)", r, farmers-windows)
			}
		case "worker":
			if r.Subscribers != workers || r.Sent != workers || r.MinLeft != 3 {
				t.Errorf("workers' budget = %+v; want %d sent, 3 left", r, workers)
			}
		}
	}

	// Still no room for an unbooked campaign to farmers; an alert may use
	// the send kept for alerts.
	st, got = run(campaign.Draft{Name: "妇联二", Audience: "group:farmer", ItemID: "it3", Department: "妇联"})
	check("unbooked again", st, got, 0, windows, farmers-windows, map[string]int{"farmer": 0})
	st, got = run(campaign.Draft{Name: "寒潮提示", Audience: "group:farmer", ItemID: "it4", Alert: true})
	check("alert", st, got, farmers-windows, windows, 0, map[string]int{"farmer": farmers - windows})
}

func ptr[T any](v T) *T { return &v }
