package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type fakePhones map[string][]ChatLine

func (f fakePhones) Personas() []Persona {
	return []Persona{{ID: "p1", Name: "陈伯（派潭荔枝果农）", Profile: "农民 · 派潭镇"}, {ID: "p2", Name: "王奶奶", Profile: "社区居民"}}
}

func (f fakePhones) Chat(id string) []ChatLine { return f[id] }

func TestPhones(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	cfg := b.console.cfg
	cfg.Phones = fakePhones{
		"p1": {
			{Time: at, FromUser: true, Text: "荔枝 施肥"},
			{Time: at, Channel: "reply", Articles: []ChatArticle{{Title: "荔枝秋梢期施肥", Description: "少施氮肥", URL: "https://kepu.example.org/a/1"}}},
			{Time: at.Add(time.Hour), Channel: "custom", Text: "<b>每日一点</b>"},
		},
	}
	withPhones, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(withPhones.Handler())
	t.Cleanup(srv.Close)

	// Without Phones there is no such page and no link to it.
	br := b.browser(t)
	if page := br.mustLogin(b.users["viewer"].Name); strings.Contains(page, "/console/phones") {
		t.Error("the nav links to the phone view without one")
	}
	if r := br.do("GET", "/console/phones", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /console/phones without phones = %d, want 404", r.StatusCode)
	}

	br = b.browser(t)
	br.base = srv.URL
	if page := br.mustLogin(b.users["viewer"].Name); !strings.Contains(page, `href="/console/phones"`) {
		t.Error("the nav lacks the phone view")
	}
	r := br.do("GET", "/console/phones", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("phones = %d", r.StatusCode)
	}
	for _, want := range []string{"陈伯（派潭荔枝果农）", "王奶奶", "荔枝 施肥", "自动回复", "荔枝秋梢期施肥", "客服消息", "&lt;b&gt;每日一点&lt;/b&gt;"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("phone view lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<b>每日一点</b>") {
		t.Error("a message's text is not escaped")
	}
	if r := br.do("GET", "/console/phones?p=p2", nil); !strings.Contains(r.body, "还没有消息") {
		t.Error("an empty chat does not say so")
	}
	if r := br.do("GET", "/console/phones?p=nobody", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown persona = %d, want 404", r.StatusCode)
	}
}
