package feed

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// Finding 12: a feed cannot redirect kepubot to loopback, private or
// link-local addresses (blind SSRF); tests, whose feeds listen on
// 127.0.0.1, allow it explicitly.
func TestFeedRedirectToPrivateAddressRefused(t *testing.T) {
	t.Parallel()
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"items":[]}`))
	}))
	t.Cleanup(inside.Close)
	hits := 0
	feedSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.Redirect(w, r, inside.URL+"/admin", http.StatusFound)
	}))
	t.Cleanup(feedSrv.Close)
	src := Source{Name: "partner", URL: feedSrv.URL}

	b := setup(t, Options{})
	if _, err := b.fetcher.Fetch(t.Context(), src); !errors.Is(err, ErrPrivateRedirect) {
		t.Errorf("Fetch through a redirect to %s = %v, want ErrPrivateRedirect", inside.URL, err)
	}
	if hits != 1 {
		t.Errorf("feed asked %d times, want once (a refused redirect is not retried)", hits)
	}
	allowed := setup(t, Options{AllowPrivateRedirects: true})
	if res, err := allowed.fetcher.Fetch(t.Context(), src); err != nil || string(res.Body) != `{"items":[]}` {
		t.Errorf("with AllowPrivateRedirects: %q, %v", res.Body, err)
	}
	for _, tc := range []struct {
		addr   string
		public bool
	}{{"127.0.0.1", false}, {"10.1.2.3", false}, {"192.168.1.1", false}, {"169.254.169.254", false},
		{"100.64.0.1", false}, {"::1", false}, {"fe80::1", false}, {"::ffff:127.0.0.1", false}, {"0.0.0.0", false},
		{"8.8.8.8", true}, {"2001:4860:4860::8888", true}} {
		if got := publicAddr(netip.MustParseAddr(tc.addr)); got != tc.public {
			t.Errorf("publicAddr(%s) = %v, want %v", tc.addr, got, tc.public)
		}
	}
}
