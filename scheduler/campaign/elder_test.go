package campaign_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

func TestElderModeGetsShortTextAndVoice(t *testing.T) {
	t.Parallel()
	amr := []byte("#!AMR\n")
	for range 250 { // 5 s
		amr = append(amr, 0x3c)
		amr = append(amr, make([]byte, 31)...)
	}
	b := setup(t, clock.Now, func(b *bundle, cfg *campaign.Config) {
		cfg.Audio = func(_ context.Context, _, itemID string) (content.Audio, error) {
			if itemID != "it2" && itemID != "it3" {
				return content.Audio{}, content.ErrNotFound
			}
			return content.Audio{Format: "amr", SHA: "sha-" + itemID, Data: amr}, nil
		}
	})
	b.items["it2"].Short = "台风要来，关好门窗，别出门。"
	var ps []*profile.Profile
	for i := range 10 { // two of each kind at least: a mass list takes two or more
		p := &profile.Profile{OpenID: fmt.Sprintf("oEld%s%02d", b.appID[6:], i), Town: "paitan", Subscribed: true, Elder: i < 6, CreatedAt: b.now()}
		if i%2 == 0 { // wrote to the bot: the window is open
			p.TouchMessage(clock.Now())
			fake.UserMessage(b.appID, p.OpenID)
		}
		fake.Follow(b.appID, p.OpenID)
		ps = append(ps, p)
	}
	if _, err := b.profiles.Import(b.ctx, "default", ps); err != nil {
		t.Fatal(err)
	}
	uploads := fake.Uploads(b.appID)
	b.run(t, "w", 2)
	c := b.create(t, &campaign.Campaign{Name: "台风", Mode: campaign.ModeItem, ItemID: "it2"})
	b.waitDone(t, c.ID, 30*time.Second)
	for _, p := range ps {
		var kinds []string
		var text string
		for _, m := range fake.Delivered(b.appID, p.OpenID) {
			kinds = append(kinds, m.Channel+"/"+m.Kind)
			if m.Kind == "text" {
				text = m.Content
			}
		}
		got := strings.Join(kinds, ",")
		var want string
		switch {
		case p.Elder && !p.LastMessageAt.IsZero():
			want = "custom/text,custom/voice"
		case p.Elder:
			want = "mass/text"
		case !p.LastMessageAt.IsZero():
			want = "custom/news"
		default:
			want = "mass/text"
		}
		if got != want {
			t.Errorf("%s (elder %v, window %v) got %s, want %s", p.OpenID, p.Elder, !p.LastMessageAt.IsZero(), got, want)
		}
		if p.Elder && !strings.HasPrefix(text, "台风要来，关好门窗，别出门。\n详情：") {
			t.Errorf("%s (elder) got the text %q, want the short version", p.OpenID, text)
		}
	}
	if n := fake.Uploads(b.appID) - uploads; n != 1 {
		t.Errorf("the recording was uploaded %d times, want once (cached)", n)
	}
	// A second push the same day (urgent: past the caps) carries its
	// short text only: one voice message a day each.
	it3 := *b.items["it2"]
	it3.ID, it3.Short = "it3", "台风已登陆，请留在家里。"
	b.items["it3"] = &it3
	before := map[string]int{}
	for _, p := range ps {
		before[p.OpenID] = len(fake.Delivered(b.appID, p.OpenID))
	}
	c = b.create(t, &campaign.Campaign{Name: "台风登陆", Mode: campaign.ModeItem, ItemID: "it3", Urgent: true})
	b.waitDone(t, c.ID, 30*time.Second)
	for _, p := range ps {
		if !p.Elder || p.LastMessageAt.IsZero() {
			continue
		}
		var kinds []string
		for _, m := range fake.Delivered(b.appID, p.OpenID)[before[p.OpenID]:] {
			kinds = append(kinds, m.Channel+"/"+m.Kind)
		}
		if got := strings.Join(kinds, ","); got != "custom/text" {
			t.Errorf("%s (elder, window) got %s from the second push of the day, want custom/text (no second voice)", p.OpenID, got)
		}
	}
}
