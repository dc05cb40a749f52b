package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/content/demand"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

func TestDemandAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Start(t)
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2027, 6, 30, 9, 0, 0, 0, loc)
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	log := demand.New(rdb, loc)
	log.Record(ctx, "default", []string{"荔枝", "施肥"}, "farmer", "paitan", now)
	log.Record(ctx, "default", []string{"荔枝"}, "farmer", "zhengguo", now.AddDate(0, 0, -3))
	log.Record(ctx, "default", []string{"台风"}, "resident", "xintang", now.AddDate(0, 0, -20))
	srv := NewServer(roleAuth(), nil)
	srv.SetAccounts([]string{"default"})
	RegisterDemand(srv, DemandDeps{Log: log, Tax: tax, Now: func() time.Time { return now }})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	get := func(role, query string) (int, demandAnswer) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/demand"+query, nil)
		req.Header.Set("Authorization", "Bearer "+role+"-token")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var a demandAnswer
		json.NewDecoder(res.Body).Decode(&a)
		return res.StatusCode, a
	}
	words := func(a demandAnswer) map[string]int64 {
		m := map[string]int64{}
		for _, w := range a.Words {
			m[w.Word] = w.Count
		}
		return m
	}
	code, a := get("viewer", "")
	if code != 200 || a.Days != 7 || a.From != "2027-06-24" || a.To != "2027-06-30" || len(a.Words) != 2 ||
		a.Words[0] != (demand.Count{Word: "荔枝", Count: 2}) {
		t.Errorf("GET /api/v1/demand = %d %+v, want 7 days to 2027-06-30, 荔枝×2 first, no 台风", code, a)
	}
	if code, a := get("editor", "?days=30"); code != 200 || words(a)["台风"] != 1 || len(a.Words) != 3 {
		t.Errorf("days=30 = %d %+v, want 台风 in", code, a)
	}
	if code, a := get("viewer", "?town=paitan"); code != 200 || a.Town != "paitan" || len(words(a)) != 2 || words(a)["荔枝"] != 1 {
		t.Errorf("town=paitan = %d %+v, want 荔枝 and 施肥 once", code, a)
	}
	if code, a := get("viewer", "?group=farmer&days=30&limit=1"); code != 200 || len(a.Words) != 1 || a.Words[0].Word != "荔枝" {
		t.Errorf("group=farmer limit=1 = %d %+v, want 荔枝", code, a)
	}
	for _, q := range []string{"?days=0", "?days=400", "?days=x", "?town=atlantis", "?group=pirate", "?town=paitan&group=farmer", "?limit=0", "?account=Bad!"} {
		if code, _ := get("viewer", q); code != http.StatusBadRequest {
			t.Errorf("GET /api/v1/demand%s = %d, want 400", q, code)
		}
	}
	if code, _ := get("nobody", ""); code != http.StatusUnauthorized {
		t.Errorf("GET without a valid token = %d, want 401", code)
	}
}
