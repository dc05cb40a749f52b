package admin

import (
	"net/http"
	"testing"
)

// Finding 11: the account parameter is checked before any handler runs:
// a malformed one is a 400, one the API does not serve a 404, and neither
// writes anything under a made-up Redis key.
func TestAccountParameterChecked(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"?account=nosuch", http.StatusNotFound},
		{"?account=%7Bx%7D", http.StatusBadRequest},
		{"?account=", http.StatusCreated}, // empty: the default account
		{"?account=default", http.StatusCreated},
		{"", http.StatusCreated},
	} {
		code, body := b.do(t, "organizer", "POST", "/api/v1/campaigns"+tc.query, `{"name":"荔枝","audience":"group:farmer","item_id":"it1"}`)
		if code != tc.want {
			t.Errorf("create%s = %d %v, want %d", tc.query, code, body, tc.want)
		}
	}
	for _, acct := range []string{"nosuch", "{x}"} {
		if cs, err := b.store.List(b.ctx, acct, 10); err != nil || len(cs) != 0 {
			t.Errorf("campaigns under account %q: %d, %v; want none", acct, len(cs), err)
		}
	}
}
