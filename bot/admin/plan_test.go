package admin

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// Finding 9: a campaign's plan shows sampled subscribers' openids to
// organizers and admins only; editors and viewers get the sample without.
func TestPlanOpenIDsForOrganizersOnly(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	for i := range 5 {
		id := fmt.Sprintf("oPlan%02d", i)
		if err := b.profiles.Update(b.ctx, "default", id, func(*profile.Profile) (*profile.Profile, error) {
			return &profile.Profile{OpenID: id, Group: "farmer", Town: "paitan", Subscribed: true, CreatedAt: b.now}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	code, body := b.do(t, "organizer", "POST", "/api/v1/campaigns", `{"name":"荔枝","audience":"group:farmer","item_id":"it1"}`)
	if code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, body)
	}
	path := "/api/v1/campaigns/" + body["id"].(string) + "/plan"
	for _, tc := range []struct {
		role  string
		shown bool
	}{{"organizer", true}, {"admin", true}, {"editor", false}, {"viewer", false}} {
		code, body := b.do(t, tc.role, "GET", path, "")
		sample, _ := body["sample"].([]any)
		if code != http.StatusOK || len(sample) == 0 {
			t.Fatalf("%s: plan = %d %v", tc.role, code, body)
		}
		for _, line := range sample {
			id, _ := line.(map[string]any)["openid"].(string)
			if (id != "") != tc.shown {
				t.Errorf("%s: sample line openid %q, want shown %v", tc.role, id, tc.shown)
			}
		}
	}
}
