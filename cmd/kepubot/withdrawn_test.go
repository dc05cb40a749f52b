package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// Finding 3: a retired item's link shows a short Chinese notice with the
// reason and the correction (410), escaped, instead of redirecting.
func TestWithdrawnPage(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	writeWithdrawn(w, &campaign.WithdrawnError{Title: "<b>用药</b>", Reason: "剂量写错了",
		Correction: &content.Item{Title: "正确的用药建议", URL: "https://kepu.example.org/a/3"}})
	body := w.Body.String()
	if w.Code != http.StatusGone || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("status %d, headers %v", w.Code, w.Header())
	}
	for _, want := range []string{"已撤回", "剂量写错了", `href="https://kepu.example.org/a/3"`, "&lt;b&gt;用药"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}
