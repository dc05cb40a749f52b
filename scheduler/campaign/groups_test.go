package campaign_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
)

// massCalls lists the fake's accepted mass-send calls of an account: "all",
// "tag:<id>" or "openids:<n>".
func (b *bundle) massCalls(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, c := range fake.Calls() {
		if c.AppID != b.appID || c.ErrCode != 0 || !strings.HasPrefix(c.Path, "/cgi-bin/message/mass/send") {
			continue
		}
		var body struct {
			Filter *struct {
				IsToAll bool `json:"is_to_all"`
				TagID   int  `json:"tag_id"`
			} `json:"filter"`
			ToUser []string `json:"touser"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil {
			t.Fatal(err)
		}
		switch {
		case body.Filter != nil && body.Filter.IsToAll:
			out = append(out, "all")
		case body.Filter != nil:
			out = append(out, fmt.Sprintf("tag:%d", body.Filter.TagID))
		default:
			out = append(out, fmt.Sprintf("openids:%d", len(body.ToUser)))
		}
	}
	return out
}

// TestMassSendsByGroup: a campaign whose mass recipients are every
// follower goes out in one call to all; one whose mass recipients include
// a whole synced tag sends the tag in one call and the rest by openid
// list; nobody outside the audience (opted out, unsubscribed) is reached
// and nobody twice; the plan's estimate and the stats count the calls.
func TestMassSendsByGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		audience  string
		optedOut  bool // the population has opted-out followers
		tagFarmer bool // the reachable farmers are a synced tag
		want      func(tag int) []string
		wantCalls map[string]int64
	}{
		{"everyone", "", false, false, func(int) []string { return []string{"all"} }, map[string]int64{notify.ToAll: 1}},
		{"everyone, some opted out", "", true, false, func(int) []string { return []string{"openids:%d"} }, map[string]int64{notify.ToOpenIDs: 1}},
		{"a tag and the rest", "group:farmer | group:worker", true, true, func(tag int) []string { return []string{fmt.Sprintf("tag:%d", tag), "openids:%d"} },
			map[string]int64{notify.ToTag: 1, notify.ToOpenIDs: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var groups []notify.Group
			b := setup(t, clock.Now, func(b *bundle, cfg *campaign.Config) {
				cfg.Groups = func(context.Context, string) ([]notify.Group, error) { return groups, nil }
			})
			ps := map[string]*profile.Profile{}
			var batch []*profile.Profile
			for i := range 300 {
				p := &profile.Profile{OpenID: fmt.Sprintf("oG%s%05d", b.appID[6:], i), Group: []string{"farmer", "worker", "resident"}[i%3],
					Town: "paitan", Subscribed: true, OptedOut: tt.optedOut && i%10 == 9, CreatedAt: b.now()}
				p.SetInterest("litchi", 200)
				fake.Follow(b.appID, p.OpenID)
				ps[p.OpenID] = p
				batch = append(batch, p)
			}
			if _, err := b.profiles.Import(b.ctx, "default", batch); err != nil {
				t.Fatal(err)
			}
			groups = []notify.Group{notify.Everyone}
			tag, tagged := 0, 0
			if tt.tagFarmer {
				client, err := wechat.New(wechat.Config{AccountID: "default", AppID: b.appID, AppSecret: "sec"}, b.rdb, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if tag, err = client.CreateTag(b.ctx, "农户"); err != nil {
					t.Fatal(err)
				}
				var members []string
				for o, p := range ps {
					if p.Group == "farmer" && !p.OptedOut {
						members = append(members, o)
						_, id, _ := b.profiles.Get(b.ctx, "default", o)
						if _, err := b.profiles.SetBits(b.ctx, "default", id.Shard, profile.BitChange{Index: fmt.Sprintf("tag:%d", tag), Bit: 1, Lids: []int64{id.Local}}); err != nil {
							t.Fatal(err)
						}
					}
				}
				for start := 0; start < len(members); start += 50 {
					if err := client.TagUsers(b.ctx, tag, members[start:min(start+50, len(members))]); err != nil {
						t.Fatal(err)
					}
				}
				tagged = len(members)
				groups = append(groups, notify.Group{TagID: tag, Index: fmt.Sprintf("tag:%d", tag)})
			}
			rep, err := b.engine.Plan(b.ctx, &campaign.Campaign{ID: "dry", Account: "default", Audience: tt.audience, Mode: campaign.ModeItem, ItemID: "it1"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(rep.MassCalls, tt.wantCalls) {
				t.Errorf("plan: mass calls %v, want %v", rep.MassCalls, tt.wantCalls)
			}
			b.run(t, "w", 4)
			c := b.create(t, &campaign.Campaign{Name: "荔枝花期", Audience: tt.audience, Mode: campaign.ModeItem, ItemID: "it1"})
			c = b.waitDone(t, c.ID, 30*time.Second)

			want := map[string]bool{}
			for o, p := range ps {
				if !p.OptedOut && (tt.audience == "" || p.Group != "resident") {
					want[o] = true
				}
			}
			got := b.delivered(ps)
			for o, n := range got {
				if !want[o] || n != 1 {
					t.Errorf("%s (%s, opted out %v, in audience %v) received %d messages", o, ps[o].Group, ps[o].OptedOut, want[o], n)
				}
			}
			if len(got) != len(want) {
				t.Errorf("delivered to %d, want %d", len(got), len(want))
			}
			calls := b.massCalls(t)
			wantList := tt.want(tag)
			for i, w := range wantList {
				if strings.Contains(w, "%d") {
					wantList[i] = fmt.Sprintf(w, len(want)-tagged) // the list: whoever the tag did not reach
				}
			}
			if fmt.Sprint(calls) != fmt.Sprint(wantList) {
				t.Errorf("mass calls = %v, want %v", calls, wantList)
			}
			st, err := b.engine.Stats(b.ctx, c, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(st.MassCalls, tt.wantCalls) || st.Sent != int64(len(want)) || st.ByChannel["mass"] != int64(len(want)) {
				t.Errorf("stats: mass calls %v, sent %d, by channel %v; want %v, %d by mass", st.MassCalls, st.Sent, st.ByChannel, tt.wantCalls, len(want))
			}
		})
	}
}

// TestEmptyAudienceFinishes: start enqueues chunk jobs only for ranges
// with audience members, so a campaign whose audience is empty must be
// finished by start itself (no chunk would finish it).
func TestEmptyAudienceFinishes(t *testing.T) {
	t.Parallel()
	b := setup(t, clock.Now)
	b.population(t, 200) // 派潭, 新塘, 荔城 only
	b.run(t, "w", 2)
	c := b.create(t, &campaign.Campaign{Name: "正果", Audience: "town:zhengguo", Mode: campaign.ModeItem, ItemID: "it1"})
	c = b.waitDone(t, c.ID, 30*time.Second)
	if c.Chunks != 0 || c.Planned != 0 {
		t.Errorf("chunks %d, planned %d; want 0 and 0", c.Chunks, c.Planned)
	}
}
