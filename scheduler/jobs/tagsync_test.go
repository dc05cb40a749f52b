package jobs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/scheduler/jobs"
)

func (b *bundle) tagSync() *jobs.TagSync {
	return jobs.NewTagSync(b.rdb, jobs.TagSyncConfig{
		Profiles: b.profiles, Segments: b.segments, Compile: b.compile,
		Client:  func(string) (jobs.Tagger, error) { return b.client, nil },
		Now:     b.clock.Now,
		Backoff: func(int) time.Duration { return time.Millisecond },
	})
}

// calls returns this test's calls to the fake WeChat.
func (b *bundle) calls() []wechattest.Call {
	var out []wechattest.Call
	for _, c := range fake.Calls() {
		if c.AppID == b.appID {
			out = append(out, c)
		}
	}
	return out
}

// population imports n subscribers in batches of 2,000: a third farmers,
// half litchi growers, some unsubscribed or opted out. Followers are
// followed in the fake.
func (b *bundle) population(t *testing.T, n int) []*profile.Profile {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	groups := []string{"farmer", "worker", "resident"}
	var all, batch []*profile.Profile
	for i := range n {
		p := &profile.Profile{OpenID: fmt.Sprintf("oT%s%07d", b.appID[6:], i), Group: groups[rng.IntN(3)], Town: "paitan",
			Subscribed: rng.IntN(20) > 0, OptedOut: rng.IntN(20) == 0, CreatedAt: b.clock.Now()}
		if rng.IntN(2) == 0 {
			p.SetInterest("litchi", 200)
		}
		if p.Subscribed {
			fake.Follow(b.appID, p.OpenID)
		}
		all = append(all, p)
		batch = append(batch, p)
		if len(batch) == 2000 || i == n-1 {
			if _, err := b.profiles.Import(b.ctx, "default", batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return all
}

func TestTagSyncRespectsWeChatLimitsAndConverges(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Date(2027, 4, 6, 3, 0, 0, 0, shanghai))
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	start := time.Now()
	ps := b.population(t, n)
	t.Logf("imported %d subscribers in %v", n, time.Since(start))
	for _, s := range []segment.Saved{{Name: "litchi-growers", Expr: "interest:litchi"}, {Name: "farmers", Expr: "group:farmer"}} {
		if _, err := b.segments.Save(b.ctx, "default", s); err != nil {
			t.Fatal(err)
		}
	}
	ts := b.tagSync()
	for _, s := range []string{"litchi-growers", "farmers"} {
		if err := ts.Mark(b.ctx, "default", s); err != nil {
			t.Fatal(err)
		}
	}
	// 30 reachable farmers already carry 20 tags set by hand in WeChat.
	var full []string
	for _, p := range ps {
		if p.Group == "farmer" && p.Reachable() && len(full) < 30 {
			full = append(full, p.OpenID)
		}
	}
	for i := range 20 {
		id, err := b.client.CreateTag(b.ctx, fmt.Sprintf("manual-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.client.TagUsers(b.ctx, id, full); err != nil {
			t.Fatal(err)
		}
	}
	fake.InjectFault(wechattest.Fault{AppID: b.appID, Path: "/cgi-bin/tags/members/", Rate: 0.03, ErrCode: -1})
	fake.InjectFault(wechattest.Fault{AppID: b.appID, Path: "/cgi-bin/tags/members/", Rate: 0.02, ErrCode: 45009})
	before := len(b.calls())

	start = time.Now()
	res, err := ts.Sync(b.ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	calls := b.calls()[before:]
	t.Logf("first sync: %v, %d WeChat calls: %+v", took, len(calls), res)

	tagOf := map[string]int{}
	for _, r := range res {
		tagOf[r.Segment] = r.TagID
	}
	errCodes := map[int]int{}
	for _, c := range calls {
		errCodes[c.ErrCode]++
		var body struct {
			OpenIDs []string `json:"openid_list"`
		}
		json.Unmarshal(c.Body, &body)
		if len(body.OpenIDs) > 50 {
			t.Errorf("call %s with %d openids", c.Path, len(body.OpenIDs))
		}
	}
	for code := range errCodes {
		if code != 0 && code != -1 && code != 45009 && code != 45059 {
			t.Errorf("WeChat answered %d %d times", code, errCodes[code])
		}
	}
	t.Logf("answers by errcode: %v", errCodes)

	wantTagged, wantSkipped := map[string]int{}, map[string]int{}
	for _, p := range ps {
		tags := fake.UserTags(b.appID, p.OpenID)
		if len(tags) > 20 {
			t.Fatalf("%s has %d tags", p.OpenID, len(tags))
		}
		isFull := slices.Contains(full, p.OpenID)
		want := map[string]bool{
			"litchi-growers": p.Reachable() && p.HasInterest("litchi") && !isFull,
			"farmers":        p.Reachable() && p.Group == "farmer" && !isFull,
		}
		for seg, w := range want {
			if got := slices.Contains(tags, tagOf[seg]); got != w {
				t.Fatalf("%s (%+v, full %v): has tag %s = %v, want %v", p.OpenID, p, isFull, seg, got, w)
			}
			if w {
				wantTagged[seg]++
			}
			if isFull && (seg == "farmers" || p.HasInterest("litchi")) {
				wantSkipped[seg]++
			}
		}
	}
	for _, r := range res {
		if r.Tagged != wantTagged[r.Segment] {
			t.Errorf("%s: tagged %d, want %d", r.Segment, r.Tagged, wantTagged[r.Segment])
		}
		if r.SkippedTagLimit != wantSkipped[r.Segment] {
			t.Errorf("%s: skipped %d at the tag limit, want %d", r.Segment, r.SkippedTagLimit, wantSkipped[r.Segment])
		}
	}

	// Nothing changed: the second sync makes no WeChat call.
	before = len(b.calls())
	res, err = ts.Sync(b.ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(b.calls()) - before; got != 0 {
		t.Errorf("second sync made %d WeChat calls, want 0 (%+v)", got, res)
	}

	// Ten farmers become workers: the next sync untags exactly them.
	moved := 0
	for _, p := range ps {
		if p.Group == "farmer" && p.Reachable() && !slices.Contains(full, p.OpenID) && moved < 10 {
			moved++
			b.profiles.Update(b.ctx, "default", p.OpenID, func(q *profile.Profile) (*profile.Profile, error) {
				q.Group = "worker"
				return q, nil
			})
			defer func(o string) {
				if slices.Contains(fake.UserTags(b.appID, o), tagOf["farmers"]) {
					t.Errorf("%s still has the farmers tag", o)
				}
			}(p.OpenID)
		}
	}
	res, err = ts.Sync(b.ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Segment == "farmers" && (r.Untagged != 10 || r.Tagged != 0) {
			t.Errorf("after 10 farmers left: %+v", r)
		}
	}
}

func TestTagSyncRefusesA101stTag(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Date(2027, 4, 6, 3, 0, 0, 0, shanghai))
	b.population(t, 10)
	for i := range 100 {
		if _, err := b.client.CreateTag(b.ctx, fmt.Sprintf("t%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.segments.Save(b.ctx, "default", segment.Saved{Name: "farmers", Expr: "group:farmer"}); err != nil {
		t.Fatal(err)
	}
	ts := b.tagSync()
	if err := ts.Mark(b.ctx, "default", "farmers"); err != nil {
		t.Fatal(err)
	}
	_, err := ts.Sync(b.ctx, "default")
	if !errors.Is(err, jobs.ErrTooManyTags) {
		t.Fatalf("Sync = %v, want ErrTooManyTags", err)
	}
	for _, c := range b.calls() {
		if c.ErrCode == 45056 {
			t.Errorf("a tag creation was sent and refused by WeChat")
		}
	}
	long := "a-segment-name-longer-than-30-bytes"
	b.segments.Save(b.ctx, "default", segment.Saved{Name: long, Expr: "group:farmer"})
	if err := ts.Mark(b.ctx, "default", long); !errors.Is(err, jobs.ErrTagName) {
		t.Errorf("Mark(%s) = %v, want ErrTagName", long, err)
	}
}
