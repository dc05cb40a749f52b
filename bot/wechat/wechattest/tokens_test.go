package wechattest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

func TestTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, b *bundle)
	}{
		{"wrong secret is 40125", func(t *testing.T, b *bundle) {
			m := b.raw(t, http.MethodPost, "/cgi-bin/stable_token", nil,
				obj{"grant_type": "client_credential", "appid": appID, "secret": "bad"})
			wantCode(t, "stable_token", m, 40125)
			m = b.raw(t, http.MethodGet, "/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {appID}, "secret": {"bad"}}, nil)
			wantCode(t, "token", m, 40125)
		}},
		{"unknown appid is 40013", func(t *testing.T, b *bundle) {
			m := b.raw(t, http.MethodPost, "/cgi-bin/stable_token", nil,
				obj{"grant_type": "client_credential", "appid": "wxnope", "secret": "x"})
			wantCode(t, "stable_token", m, 40013)
		}},
		{"stable token is reused until forced", func(t *testing.T, b *bundle) {
			again := b.stableToken(t, false)["access_token"]
			if again != b.tok {
				t.Errorf("second stable_token = %v, want the current %v", again, b.tok)
			}
			if n := b.srv.TokenFetches(appID); n != 1 {
				t.Errorf("TokenFetches = %d, want 1", n)
			}
			forced := b.stableToken(t, true)["access_token"].(string)
			if forced == b.tok {
				t.Fatal("force_refresh returned the old token")
			}
			wantCode(t, "old token after force", b.get(t, "/cgi-bin/tags/get", nil), 40001)
		}},
		{"token expires after 7200 s", func(t *testing.T, b *bundle) {
			b.clock.Advance(7199 * time.Second)
			wantCode(t, "before expiry", b.get(t, "/cgi-bin/tags/get", nil), 0)
			b.clock.Advance(time.Second)
			wantCode(t, "after expiry", b.get(t, "/cgi-bin/tags/get", nil), 42001)
		}},
		{"Invalidate gives 40001, unknown token 40001, missing 41001", func(t *testing.T, b *bundle) {
			b.srv.Invalidate(appID)
			wantCode(t, "invalidated", b.get(t, "/cgi-bin/tags/get", nil), 40001)
			b.tok = "forged"
			wantCode(t, "forged", b.get(t, "/cgi-bin/tags/get", nil), 40001)
			m := b.raw(t, http.MethodGet, "/cgi-bin/tags/get", url.Values{}, nil)
			wantCode(t, "missing", m, 41001)
		}},
		{"a new /cgi-bin/token retires the old one after 5 minutes", func(t *testing.T, b *bundle) {
			q := url.Values{"grant_type": {"client_credential"}, "appid": {appID}, "secret": {"secret"}}
			first := b.raw(t, http.MethodGet, "/cgi-bin/token", q, nil)["access_token"].(string)
			b.raw(t, http.MethodGet, "/cgi-bin/token", q, nil)
			b.tok = first
			b.clock.Advance(4 * time.Minute)
			wantCode(t, "old token in overlap", b.get(t, "/cgi-bin/tags/get", nil), 0)
			b.clock.Advance(time.Minute)
			wantCode(t, "old token after overlap", b.get(t, "/cgi-bin/tags/get", nil), 40001)
		}},
		{"/cgi-bin/token allows 2000 fetches a day", func(t *testing.T, b *bundle) {
			q := url.Values{"grant_type": {"client_credential"}, "appid": {appID}, "secret": {"secret"}}
			for i := range 2000 {
				if m := b.raw(t, http.MethodGet, "/cgi-bin/token", q, nil); code(m) != 0 {
					t.Fatalf("fetch %d: errcode %d", i, code(m))
				}
			}
			wantCode(t, "fetch 2001", b.raw(t, http.MethodGet, "/cgi-bin/token", q, nil), 45009)
			b.clock.Advance(24 * time.Hour)
			wantCode(t, "next day", b.raw(t, http.MethodGet, "/cgi-bin/token", q, nil), 0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, setup(t, wechattest.ServiceAccount))
		})
	}
}
