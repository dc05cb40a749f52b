package jobs_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/scheduler/jobs"
)

// runLog records which replica ran which tick.
type runLog struct {
	mu   sync.Mutex
	runs map[string][]string // tick id → owners
}

func (l *runLog) add(tick, owner string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.runs == nil {
		l.runs = map[string][]string{}
	}
	l.runs[tick] = append(l.runs[tick], owner)
	n := 0
	for _, os := range l.runs {
		for _, o := range os {
			if o == owner {
				n++
			}
		}
	}
	return n
}

func (l *runLog) snapshot() map[string][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]string{}
	for k, v := range l.runs {
		out[k] = slices.Clone(v)
	}
	return out
}

func TestReplicasFireEachTickOnceAndSurviveADeadHolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Start(t)
	var log runLog
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	blocked := make(chan string, 1)

	replica := func(owner string, doomed bool) *jobs.Scheduler {
		job := jobs.Job{Name: "every-minute", Spec: "* * * * *", Run: func(ctx context.Context, tick jobs.Tick) error {
			log.add(tick.ID, owner)
			if doomed && tick.ID == "every-minute@2027-04-06T10:03:00+08:00" {
				// The lease holder hangs mid-run and is then abandoned:
				// this call never returns while the test runs.
				blocked <- tick.ID
				<-release
			}
			return nil
		}}
		s, err := jobs.New(rdb, []jobs.Job{job}, jobs.Options{Loc: shanghai, Owner: owner, Tolerance: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	doomed := replica("r1", true)
	live := []*jobs.Scheduler{doomed, replica("r2", false), replica("r3", false)}

	start := time.Date(2027, 4, 6, 9, 59, 30, 0, shanghai)
	kill := time.Date(2027, 4, 6, 10, 3, 0, 0, shanghai)
	for i := 0; i <= 60; i++ { // ten minutes, every 10 s
		now := start.Add(time.Duration(i) * 10 * time.Second)
		if now.Equal(kill) {
			// r1 alone sees 10:03 first and takes its lease; then it hangs.
			go doomed.Step(ctx, now)
			select {
			case <-blocked:
			case <-time.After(10 * time.Second):
				t.Fatal("r1 did not take the 10:03 tick")
			}
			live = live[1:]
		}
		var wg sync.WaitGroup
		for _, s := range live {
			wg.Go(func() {
				if _, err := s.Step(ctx, now); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}

	runs := log.snapshot()
	if got := runs["every-minute@2027-04-06T10:03:00+08:00"]; !slices.Equal(got, []string{"r1"}) {
		t.Errorf("10:03 ran on %v, want only the hung r1", got)
	}
	for m := 0; m < 10; m++ {
		id := "every-minute@" + time.Date(2027, 4, 6, 10, m, 0, 0, shanghai).Format(time.RFC3339)
		if len(runs[id]) != 1 {
			t.Errorf("tick %s ran %d times (%v), want 1", id, len(runs[id]), runs[id])
		}
		delete(runs, id)
	}
	if len(runs) > 0 {
		t.Errorf("unexpected ticks ran: %v", runs)
	}
	st, err := live[0].Status(ctx, "every-minute")
	if err != nil {
		t.Fatal(err)
	}
	if st.LastTick != "every-minute@2027-04-06T10:09:00+08:00" || st.LastOutcome != jobs.OutcomeOK {
		t.Errorf("status = %+v, want last tick 10:09 ok", st)
	}
}

func TestMissedTicksFollowPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Start(t)
	var log runLog
	mk := func(name string, p jobs.Policy, grace time.Duration) jobs.Job {
		return jobs.Job{Name: name, Spec: "*/10 * * * *", Policy: p, Grace: grace,
			Run: func(_ context.Context, tick jobs.Tick) error { log.add(tick.ID, "r"); return nil }}
	}
	newReplica := func() *jobs.Scheduler {
		s, err := jobs.New(rdb, []jobs.Job{
			mk("skip", jobs.PolicySkip, 0),
			mk("catch-up", jobs.PolicyCatchUpLast, 15*time.Minute),
			mk("catch-up-short", jobs.PolicyCatchUpLast, 2*time.Minute),
		}, jobs.Options{Loc: shanghai, Tolerance: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	at := func(h, m, s int) time.Time { return time.Date(2027, 4, 6, h, m, s, 0, shanghai) }
	step := func(s *jobs.Scheduler, now time.Time) []jobs.Result {
		t.Helper()
		res, err := s.Step(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	s := newReplica()
	step(s, at(9, 59, 59))
	step(s, at(10, 0, 1)) // 10:00 fires for all three
	// Every replica is down from 10:00:05 until 10:25:00: the ticks at
	// 10:10 and 10:20 are missed. A new replica comes up.
	s = newReplica()
	res := step(s, at(10, 25, 0))
	step(s, at(10, 25, 1))
	step(s, at(10, 30, 2)) // 10:30 on time again

	want := map[string][]string{
		"skip@2027-04-06T10:00:00+08:00":           {"r"},
		"catch-up@2027-04-06T10:00:00+08:00":       {"r"},
		"catch-up-short@2027-04-06T10:00:00+08:00": {"r"},
		// Only the latest missed tick, and only within the grace.
		"catch-up@2027-04-06T10:20:00+08:00":       {"r"},
		"skip@2027-04-06T10:30:00+08:00":           {"r"},
		"catch-up@2027-04-06T10:30:00+08:00":       {"r"},
		"catch-up-short@2027-04-06T10:30:00+08:00": {"r"},
	}
	got := log.snapshot()
	for id, w := range want {
		if !slices.Equal(got[id], w) {
			t.Errorf("tick %s ran by %v, want %v", id, got[id], w)
		}
		delete(got, id)
	}
	if len(got) > 0 {
		t.Errorf("ticks that should not have fired: %v", got)
	}
	var skipped []string
	for _, r := range res {
		if r.Outcome == jobs.OutcomeSkipped {
			skipped = append(skipped, r.Tick.ID)
		}
	}
	slices.Sort(skipped)
	if want := []string{"catch-up-short@2027-04-06T10:20:00+08:00", "skip@2027-04-06T10:20:00+08:00"}; !slices.Equal(skipped, want) {
		t.Errorf("skipped after downtime = %v, want %v", skipped, want)
	}
}

func TestPauseResumeAndRunNowAcrossReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Start(t)
	var log runLog
	job := jobs.Job{Name: "hourly", Spec: "0 * * * *", Run: func(_ context.Context, tick jobs.Tick) error {
		log.add(tick.Key(), "r")
		return nil
	}}
	c := newClock(time.Date(2027, 4, 6, 9, 59, 0, 0, shanghai))
	a, err := jobs.New(rdb, []jobs.Job{job}, jobs.Options{Loc: shanghai, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := jobs.New(rdb, []jobs.Job{job}, jobs.Options{Loc: shanghai, Now: c.Now})
	a.Step(ctx, c.Now())
	if err := a.Pause(ctx, "hourly"); err != nil {
		t.Fatal(err)
	}
	c.Set(time.Date(2027, 4, 6, 10, 0, 0, 0, shanghai))
	b.Step(ctx, c.Now()) // paused on every replica: 10:00 is skipped
	if err := b.Resume(ctx, "hourly"); err != nil {
		t.Fatal(err)
	}
	b.Step(ctx, c.Now().Add(time.Second))
	if n := len(log.snapshot()); n != 0 {
		t.Fatalf("a paused job ran: %v", log.snapshot())
	}
	tick, err := a.RunNow(ctx, "hourly")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := b.RunNow(ctx, "hourly"); again.ID != tick.ID {
		t.Errorf("second RunNow = %s, want the pending %s", again.ID, tick.ID)
	}
	if tick.ID != "manual@2027-04-06T10:00:00+08:00" {
		t.Errorf("manual tick id = %s", tick.ID)
	}
	var wg sync.WaitGroup
	for _, s := range []*jobs.Scheduler{a, b} {
		wg.Go(func() { s.Step(ctx, c.Now().Add(2*time.Second)) })
	}
	wg.Wait()
	a.Step(ctx, c.Now().Add(3*time.Second))
	if got := log.snapshot(); len(got) != 1 || len(got["hourly@manual@2027-04-06T10:00:00+08:00"]) != 1 {
		t.Errorf("runs = %v, want one manual run", got)
	}
	st, err := a.Status(ctx, "hourly")
	if err != nil {
		t.Fatal(err)
	}
	if st.Paused || st.RunPending || st.LastOutcome != jobs.OutcomeOK || st.Skipped != 1 ||
		st.NextRun == nil || !st.NextRun.Equal(time.Date(2027, 4, 6, 11, 0, 0, 0, shanghai)) {
		t.Errorf("status = %+v", st)
	}
	if _, err := a.RunNow(ctx, "nope"); err == nil {
		t.Error("RunNow of an unknown job succeeded")
	}
}
