package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile/profiletest"
)

// BenchmarkDashboard renders the dashboard (counts in Redis, template,
// HTTP handler) with a whole district of subscribers: 1.5 M, or 20,000
// with -short. The goal is under 300 ms a render.
func BenchmarkDashboard(b *testing.B) {
	bd := setup(b)
	n := profiletest.DistrictSize()
	profiletest.Populate(b, bd.ctx, bd.profiles, "default", n)
	br := bd.browser(b)
	br.mustLogin("viewer-user")
	req := httptest.NewRequest("GET", "/console/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: br.cookies[sessionCookie]})
	h := bd.console.Handler()
	var total time.Duration
	for b.Loop() {
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		total += time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("GET /console/ = %d", w.Code)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/render")
	b.ReportMetric(float64(n), "subscribers")
}
