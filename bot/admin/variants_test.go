package admin

import (
	"net/http"
	"testing"
)

// The A/B and send-time fields of POST /api/v1/campaigns (contract):
// accepted as written, refused with Chinese field errors, shown back.
func TestCampaignVariantsContract(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	for _, tc := range []struct {
		name, body, field string
	}{
		{"one variant", `{"name":"a","item_id":"it1","variants":[{"title":"甲"}]}`, "variants"},
		{"unknown item", `{"name":"a","item_id":"it1","variants":[{"title":"甲"},{"item_id":"nope"}]}`, "variants"},
		{"winner without variants", `{"name":"a","item_id":"it1","winner_after":"2h"}`, "winner_after"},
		{"send_time", `{"name":"a","item_id":"it1","send_time":"noon"}`, "send_time"},
	} {
		code, body := b.do(t, "organizer", "POST", "/api/v1/campaigns", tc.body)
		fields, _ := body["fields"].(map[string]any)
		if code != http.StatusBadRequest || fields[tc.field] == nil {
			t.Errorf("%s: create = %d %v, want 400 with fields.%s", tc.name, code, body, tc.field)
		}
	}
	if code, body := b.do(t, "organizer", "POST", "/api/v1/campaigns", `{"name":"a","item_id":"it1","variants":[{"title":"甲"},{"title":"乙"}],"winner_after":"两小时"}`); code != http.StatusBadRequest {
		t.Errorf("winner_after 两小时: create = %d %v, want 400", code, body)
	}
	for _, tc := range []struct {
		name, after string
		want        float64
	}{{"duration", `"2h"`, 7200}, {"seconds", `5400`, 5400}} {
		code, body := b.do(t, "organizer", "POST", "/api/v1/campaigns",
			`{"name":"荔枝 A/B","item_id":"it1","variants":[{"title":"荔枝开花了","summary":"控梢保花"},{"item_id":"it1"}],"winner_after":`+tc.after+`,"send_time":"optimal"}`)
		if code != http.StatusCreated {
			t.Fatalf("%s: create = %d %v, want 201", tc.name, code, body)
		}
		vs, _ := body["variants"].([]any)
		if got := body["winner_after"]; got != tc.want || len(vs) != 2 || body["send_time"] != "optimal" {
			t.Errorf("%s: created %v, want winner_after %v, 2 variants, send_time optimal", tc.name, body, tc.want)
		}
		code, body = b.do(t, "viewer", "GET", "/api/v1/campaigns/"+body["id"].(string), ``)
		st, _ := body["stats"].(map[string]any)
		sv, _ := st["variants"].([]any)
		if code != http.StatusOK || len(sv) != 3 {
			t.Fatalf("%s: get = %d %v, want stats.variants of two variants and the holdout", tc.name, code, body)
		}
		for _, k := range []string{"sent", "clicks", "ctr", "ci_low", "ci_high"} {
			if _, ok := sv[0].(map[string]any)[k]; !ok {
				t.Errorf("%s: stats.variants[0] = %v, no %s", tc.name, sv[0], k)
			}
		}
	}
}
