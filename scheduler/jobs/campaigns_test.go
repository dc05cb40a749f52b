package jobs_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/jobs"
)

// Not parallel: it changes time.Local, the process's zone.
func TestProgrammeStartsAt0900ShanghaiWhateverTheProcessZone(t *testing.T) {
	for _, zone := range []string{"UTC", "America/New_York"} {
		t.Run(zone, func(t *testing.T) {
			old := time.Local
			time.Local = mustLoc(zone)
			t.Cleanup(func() { time.Local = old })

			b := setup(t, time.Date(2027, 4, 6, 0, 58, 0, 0, time.Local))
			progs := jobs.NewProgrammes(b.rdb, b.campaigns, shanghai)
			if _, err := progs.Save(b.ctx, jobs.Programme{Account: "default", Name: "morning", Spec: "0 9 * * *", Mode: campaign.ModePersonalized}); err != nil {
				t.Fatal(err)
			}
			s, err := jobs.New(b.rdb, nil, jobs.Options{Loc: shanghai, Now: b.clock.Now, Programmes: progs})
			if err != nil {
				t.Fatal(err)
			}
			b.workers(t)
			var fired []time.Time
			for i := 0; i <= 12; i++ { // 08:58 to 09:02 Shanghai, every 20 s, in the process's zone
				now := time.Date(2027, 4, 6, 0, 58, 0, 0, time.UTC).Add(time.Duration(i) * 20 * time.Second).In(time.Local)
				b.clock.Set(now)
				res, err := s.Step(b.ctx, now)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range res {
					if r.Err != nil {
						t.Fatal(r.Err)
					}
					if !r.Tick.At.Equal(now) {
						t.Errorf("tick %s fired at %v", r.Tick.ID, now)
					}
					fired = append(fired, r.Tick.At)
					// The clock stays at the tick while a worker starts it.
					waitFor(t, 10*time.Second, "campaign started", func() bool {
						cs, _ := b.store.List(b.ctx, "default", 10)
						return len(cs) == 1 && cs[0].StartedAt != nil && cs[0].StartedAt.Equal(now)
					})
				}
			}
			nine := time.Date(2027, 4, 6, 9, 0, 0, 0, shanghai)
			if len(fired) != 1 || !fired[0].Equal(nine) {
				t.Fatalf("fired at %v, want once at %v", fired, nine)
			}
			cs, err := b.store.List(b.ctx, "default", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 1 || !strings.HasSuffix(cs[0].Name, "programme:default:morning@2027-04-06T09:00:00+08:00") {
				t.Fatalf("campaigns = %+v", cs)
			}
		})
	}
}

func TestCampaignsStartOncePerKey(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Date(2027, 4, 6, 8, 0, 0, 0, shanghai))
	tip := jobs.DailyTip(b.campaigns, "default", "active:30d")
	tick := jobs.Tick{Job: "daily-tip", ID: "daily-tip@2027-04-06T08:00:00+08:00", At: b.clock.Now()}
	// A double fire: the same tick run by five replicas at once.
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if err := tip(b.ctx, tick); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	tip(b.ctx, tick) // and once more later
	cs, err := b.store.List(b.ctx, "default", 100)
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, c := range cs {
		if c.Status != campaign.StatusCancelled {
			live++
			if c.Mode != campaign.ModePersonalized || c.Audience != "active:30d" || !strings.Contains(c.Name, tick.ID) {
				t.Errorf("campaign = %+v", c)
			}
		}
	}
	if live != 1 {
		t.Errorf("%d live campaigns for one tick, want 1 (%d created)", live, len(cs))
	}
	st, err := b.queue.Stats(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Ready[0] + st.Ready[1]; n != 1 {
		t.Errorf("%d start jobs enqueued, want 1", n)
	}
}

func TestFarmingCalendarOnASolarTerm(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Date(2027, 4, 5, 7, 0, 0, 0, shanghai))
	job := jobs.FarmingCalendar(b.campaigns, b.items, "default", []string{"litchi"}, shanghai)
	term, ok := jobs.SolarTermOn(b.clock.Now(), shanghai)
	if !ok || term != "清明" {
		t.Fatalf("SolarTermOn(2027-04-05) = %q, %v; want 清明", term, ok)
	}
	for _, day := range []int{4, 5, 6} {
		at := time.Date(2027, 4, day, 7, 0, 0, 0, shanghai)
		if err := job(b.ctx, jobs.Tick{Job: "farming-calendar", ID: "farming-calendar@" + at.Format(time.RFC3339), At: at}); err != nil {
			t.Fatal(err)
		}
	}
	cs, _ := b.store.List(b.ctx, "default", 10)
	if len(cs) != 1 || cs[0].ItemID != "it1" || cs[0].Mode != campaign.ModeItem || cs[0].Audience != "interest:(litchi)" {
		t.Fatalf("campaigns = %+v, want one of it1 to litchi growers on 清明", cs)
	}
}
