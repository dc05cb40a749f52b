package admin

import (
	"net/http/httptest"
	"testing"
)

// Finding 5: behind a trusted proxy the client address comes from
// X-Forwarded-For (past the proxies), so clients do not share one
// address; an untrusted peer's header is ignored.
func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted, err := ParseProxies([]string{"10.0.0.0/8", " 192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	ip := ClientIP(trusted)
	for _, tc := range []struct{ remote, xff, want string }{
		{"203.0.113.5:1234", "", "203.0.113.5"},
		{"203.0.113.5:1234", "198.51.100.1", "203.0.113.5"}, // not a proxy: header ignored
		{"10.1.2.3:443", "198.51.100.1", "198.51.100.1"},
		{"10.1.2.3:443", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // forged prefix skipped
		{"192.0.2.7:443", "junk", "192.0.2.7"},
		{"10.1.2.3:443", "", "10.1.2.3"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := ip(r); got != tc.want {
			t.Errorf("ClientIP(%s, XFF %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
	if _, err := ParseProxies([]string{"not-an-ip"}); err == nil {
		t.Error("ParseProxies(not-an-ip) = nil error")
	}
	// Without trusted proxies the socket address is the client.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:1"
	r.Header.Set("X-Forwarded-For", "1.2.3.4")
	if got := ClientIP(nil)(r); got != "10.1.2.3" {
		t.Errorf("ClientIP(nil) = %s, want 10.1.2.3", got)
	}
}
