package signup_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/content"
)

func scienceDay(start time.Time, capacity int) content.Event {
	return content.Event{
		Title: "2027全国科普日·科学实验秀", Description: "动手做实验", Venue: "增城区青少年宫",
		StartsAt: start, EndsAt: start.Add(2 * time.Hour), Town: "licheng", Audience: "group:youth",
		Capacity: capacity, Reminders: []string{"24h", "1h"},
	}
}

// TestConcurrentSignups: 500 people sign up together (64 at a time) for 100 places
// through the webhook; a cancellation promotes the first wait-listed, who
// is told by a customer-service message.
func TestConcurrentSignups(t *testing.T) {
	start := time.Date(2027, 9, 18, 14, 30, 0, 0, shanghai)
	b := setup(t, start.Add(-5*24*time.Hour), "")
	ev := b.event(t, scienceDay(start, 100))
	const n = 500
	replies := make([]string, n)
	// 64 in flight at once: enough to race for the last places, and within
	// what a race-detector build answers inside WeChat's 5 s on a small,
	// busy machine (all 500 at once timed out there, which tests the
	// machine, not the sign-up).
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		o := fmt.Sprintf("o%03d", i)
		fake.Follow(b.appID, o)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			replies[i] = b.text(t, o, "报名 "+strings.ToLower(ev.Code)).Content
		})
	}
	wg.Wait()
	confirmed, waiting := 0, 0
	for _, r := range replies {
		switch {
		case strings.Contains(r, "报名成功"):
			confirmed++
		case strings.Contains(r, "候补第"):
			waiting++
		default:
			t.Fatalf("reply %q, want a confirmation or a waiting-list place", r)
		}
	}
	if confirmed != 100 || waiting != 400 {
		t.Fatalf("replies: %d confirmed, %d wait-listed, want 100 and 400", confirmed, waiting)
	}
	conf, _ := b.svc.Confirmed(b.ctx, "default", ev.ID)
	wait, _ := b.svc.Waitlist(b.ctx, "default", ev.ID)
	all := append(slices.Clone(conf), wait...)
	slices.Sort(all)
	if len(conf) != 100 || len(wait) != 400 || len(slices.Compact(all)) != n {
		t.Fatalf("stored %d confirmed, %d wait-listed, %d distinct; want 100, 400, 500", len(conf), len(wait), len(slices.Compact(all)))
	}

	// Signing up again is a no-op with the same answer.
	if r := b.text(t, conf[5], "报名 "+ev.Code); !strings.Contains(r.Content, "报名成功") {
		t.Errorf("second sign-up answered %q, want the confirmation", r.Content)
	}

	// A cancellation, retried by WeChat, promotes the first in line once.
	first := wait[0]
	r := b.text(t, conf[0], "取消报名 "+ev.Code)
	if !strings.Contains(r.Content, "已为您取消") {
		t.Fatalf("cancel answered %q", r.Content)
	}
	again, err := b.phone.Post(b.ctx, r.Request)
	if err != nil || again.Content != r.Content {
		t.Fatalf("retried cancel answered %q, %v; want %q", again.Content, err, r.Content)
	}
	sum, err := b.svc.Summary(b.ctx, "default", ev.ID)
	if err != nil || sum.Confirmed != 100 || sum.Waitlisted != 399 {
		t.Fatalf("Summary = %+v, %v; want 100 confirmed, 399 wait-listed", sum, err)
	}
	if st, _, _ := b.svc.StatusOf(b.ctx, "default", ev.ID, first); st != 1 {
		t.Fatalf("first wait-listed %s has status %v, want confirmed", first, st)
	}
	b.work(t)
	waitFor(t, "the promotion notice", func() bool { return len(b.received(first, "custom")) > 0 })
	b.settle(t)
	got := b.received(first, "custom")
	if len(got) != 1 || !strings.Contains(got[0].Content, "候补转为正式报名") {
		t.Errorf("promoted subscriber received %+v, want one promotion notice", got)
	}
	if n := fake.DeliveredCount(b.appID); n != 1 {
		t.Errorf("WeChat delivered %d messages, want 1 (the promotion)", n)
	}
	if r := b.text(t, first, "我的活动"); !strings.Contains(r.Content, "已报名") || !strings.Contains(r.Content, ev.Code) {
		t.Errorf("我的活动 answered %q", r.Content)
	}
}

// TestReminders: reminders at 24 h and 1 h before the start reach the
// confirmed attendees only, once each, at the district's local times.
func TestReminders(t *testing.T) {
	start := time.Date(2027, 9, 18, 14, 30, 0, 0, shanghai)
	b := setup(t, time.Date(2027, 9, 10, 9, 0, 0, 0, shanghai), "tpl_event")
	ev := b.event(t, scienceDay(start, 3))
	users := []string{"u1", "u2", "u3", "u4"}
	for _, u := range users {
		fake.Follow(b.appID, u)
		b.text(t, u, "报名 "+ev.Code)
		b.clock.Add(time.Minute)
	}
	b.work(t)

	day := start.Add(-24 * time.Hour)
	b.clock.Set(day.Add(-time.Minute))
	b.settle(t)
	if n := fake.DeliveredCount(b.appID); n != 0 {
		t.Fatalf("%d messages before the first reminder is due, want 0", n)
	}
	b.clock.Set(day)
	waitFor(t, "the 24 h reminders", func() bool { return fake.DeliveredCount(b.appID) == 3 })
	for _, u := range users[:3] {
		got := b.received(u, "template")
		if len(got) != 1 || !got[0].Time.Equal(day) || !strings.Contains(got[0].Content, "科学实验秀") {
			t.Errorf("%s received %+v, want one template reminder at %v", u, got, day)
		}
	}

	// u1 writes half an hour before the 1 h reminder: theirs comes as a
	// customer-service text, with the start in Beijing time.
	hour := start.Add(-time.Hour)
	b.clock.Set(hour.Add(-30 * time.Minute))
	b.text(t, "u1", "我的活动")
	b.clock.Set(hour)
	waitFor(t, "the 1 h reminders", func() bool { return fake.DeliveredCount(b.appID) == 6 })
	b.settle(t)
	if got := b.received("u1", "custom"); len(got) != 1 || !strings.Contains(got[0].Content, "9月18日（周六）14:30") {
		t.Errorf("u1 received %+v, want one text reminder for 9月18日（周六）14:30", got)
	}
	if got := fake.Delivered(b.appID, "u4"); len(got) != 0 {
		t.Errorf("wait-listed u4 received %+v, want nothing", got)
	}

	// A job run again (at-least-once delivery) reminds nobody twice.
	for _, off := range []string{"24h", "1h"} {
		job := fmt.Sprintf(`{"a":"default","e":%q,"o":%q}`, ev.ID, off)
		if err := b.svc.Handle(b.ctx, jobOf("default:"+ev.ID+":rem:"+off, job)); err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.DeliveredCount(b.appID); n != 6 {
		t.Errorf("after rerunning the reminder jobs WeChat delivered %d messages, want 6", n)
	}
	st, err := b.svc.Stats(b.ctx, "default", ev.ID)
	if err != nil || st.Total.Reminded != 3 || st.Total.SignedUp != 3 || st.Total.Waitlisted != 1 {
		t.Errorf("Stats = %+v, %v; want 3 reminded, 3 signed up, 1 wait-listed", st.Total, err)
	}
}

// TestVenueScan: a scan at the venue, retried by WeChat, records
// attendance once; a newcomer is profiled from the event; the feedback
// question follows the event and its answer is counted.
func TestVenueScan(t *testing.T) {
	start := time.Date(2027, 5, 22, 9, 30, 0, 0, shanghai)
	b := setup(t, start.Add(-10*time.Minute), "tpl_event")
	e := scienceDay(start, 50)
	e.Title, e.Town, e.Audience, e.Topics = "科技活动周·荔枝种植讲座", "paitan", "group:farmer", []string{"litchi"}
	ev := b.event(t, e)
	sc, err := b.svc.CheckInScene(b.ctx, "default", ev)
	if err != nil {
		t.Fatal(err)
	}

	fake.Follow(b.appID, "f1")
	b.text(t, "f1", "报名 "+ev.Code)
	litchi := func() uint8 {
		p, _, _ := b.profiles.Get(b.ctx, "default", "f1")
		for _, in := range p.Interests {
			if in.Topic == "litchi" {
				return in.Weight
			}
		}
		return 0
	}
	if got := litchi(); got != 20 {
		t.Errorf("after signing up for a litchi event, weight(litchi) = %d, want 20", got)
	}
	r, err := b.phone.Event(b.ctx, "f1", "SCAN", sc.Scene, nil)
	if err != nil || !strings.Contains(r.Content, "签到成功") {
		t.Fatalf("scan answered %q, %v", r.Content, err)
	}
	if got := litchi(); got != 60 {
		t.Errorf("after attending it, weight(litchi) = %d, want 60", got)
	}
	for range 3 {
		again, err := b.phone.Post(b.ctx, r.Request)
		if err != nil || again.Content != r.Content {
			t.Fatalf("retried scan answered %q, %v; want %q", again.Content, err, r.Content)
		}
	}
	// A newcomer follows through the code at the venue.
	r, err = b.phone.Event(b.ctx, "n1", "subscribe", "qrscene_"+sc.Scene, map[string]string{"Ticket": "t"})
	if err != nil || !strings.Contains(r.Content, "签到成功") {
		t.Fatalf("newcomer's scan answered %q, %v", r.Content, err)
	}
	p, _, err := b.profiles.Get(b.ctx, "default", "n1")
	if err != nil || p.Town != "paitan" || p.Group != "farmer" || !p.Subscribed {
		t.Fatalf("newcomer's profile = %+v, %v; want farmer in paitan, subscribed", p, err)
	}
	sum, _ := b.svc.Summary(b.ctx, "default", ev.ID)
	if sum.Attended != 2 || sum.Confirmed != 1 {
		t.Fatalf("Summary = %+v, want 2 attended, 1 confirmed", sum)
	}

	b.work(t)
	b.clock.Set(ev.EndsAt.Add(30 * time.Minute))
	waitFor(t, "the feedback questions", func() bool {
		return len(b.received("f1", "")) == 1 && len(b.received("n1", "")) == 1
	})
	// f1 wrote 3 hours ago (window open): a text; n1 only followed: a template.
	if got := b.received("f1", "custom"); len(got) != 1 || !strings.Contains(got[0].Content, "评价1") {
		t.Errorf("f1 received %+v, want the feedback question as a text", got)
	}
	if got := b.received("n1", "template"); len(got) != 1 {
		t.Errorf("n1 received %+v, want the feedback question as a template message", got)
	}
	r = b.text(t, "f1", "评价 1")
	if !strings.Contains(r.Content, "收到您的评价") {
		t.Errorf("feedback answered %q", r.Content)
	}
	st, err := b.svc.Stats(b.ctx, "default", ev.ID)
	if err != nil || st.Total.Attended != 2 || st.Total.Feedback != 1 || st.Answers["1"] != 1 || st.ByTown["paitan"].Attended != 1 {
		t.Errorf("Stats = %+v, %v", st, err)
	}
	var csv strings.Builder
	if err := st.WriteCSV(&csv); err != nil || !strings.Contains(csv.String(), "total,,0,1,0,0,2,1") {
		t.Errorf("CSV = %q, %v", csv.String(), err)
	}
}

// TestSignupWithoutCodeListsOpenEvents: 报名 alone lists the events taking
// sign-ups now with their codes (a closed one is left out), and a date
// in another year says the year.
func TestSignupWithoutCodeListsOpenEvents(t *testing.T) {
	start := time.Date(2027, 9, 18, 14, 30, 0, 0, shanghai)
	b := setup(t, time.Date(2026, 12, 20, 9, 0, 0, 0, shanghai), "")
	r := b.text(t, "oL", "报名")
	if !strings.Contains(r.Content, "现在没有可以报名的活动") {
		t.Errorf("报名 with no events: %q", r.Content)
	}
	ev := b.event(t, scienceDay(start, 100))
	closed := scienceDay(start.AddDate(0, 1, 0), 10)
	closed.Title, closed.SignupOpens, closed.SignupCloses = "三下乡", start.AddDate(0, 0, 20), start.AddDate(0, 0, 25)
	b.event(t, closed)
	r = b.text(t, "oL", "报名")
	for _, want := range []string{"现在可以报名的活动", ev.Title, "报名 " + ev.Code, "2027年9月18日"} {
		if !strings.Contains(r.Content, want) {
			t.Errorf("报名 = %q, want it to contain %q", r.Content, want)
		}
	}
	if strings.Contains(r.Content, "三下乡") {
		t.Errorf("报名 lists an event whose sign-up has not opened: %q", r.Content)
	}
}
