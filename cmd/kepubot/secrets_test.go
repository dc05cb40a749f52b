package main

import (
	"strings"
	"testing"
)

// Finding 14: in production (a real AppSecret whose API calls leave this
// machine) the public default webhook token and a short admin token stop
// start-up; with a fake WeChat on loopback (tests, the demo) they do not.
func TestProductionRefusesWeakSecrets(t *testing.T) {
	t.Parallel()
	strong := "0123456789abcdef0123"
	for _, tc := range []struct {
		env  map[string]string
		want string // "" = loads
	}{
		{map[string]string{"KEPUBOT_WECHAT_APP_SECRET": "real"}, "KEPUBOT_WECHAT_TOKEN"},
		{map[string]string{"KEPUBOT_WECHAT_APP_SECRET": "real", "KEPUBOT_WECHAT_TOKEN": "mine", "KEPUBOT_ADMIN_TOKEN": "x"}, "KEPUBOT_ADMIN_TOKEN"},
		{map[string]string{"KEPUBOT_WECHAT_APP_SECRET": "real", "KEPUBOT_WECHAT_TOKEN": "mine", "KEPUBOT_ADMIN_TOKEN": "fifteen-chars-x"}, "KEPUBOT_ADMIN_TOKEN"},
		{map[string]string{"KEPUBOT_WECHAT_APP_SECRET": "real", "KEPUBOT_WECHAT_TOKEN": "mine", "KEPUBOT_ADMIN_TOKEN": strong}, ""},
		{map[string]string{"KEPUBOT_WECHAT_APP_SECRET": "real", "KEPUBOT_WECHAT_TOKEN": "mine", "KEPUBOT_WECHAT_API_BASE": "https://wx-proxy.internal"}, ""},
		{map[string]string{"KEPUBOT_WECHAT_APP_SECRET": "real", "KEPUBOT_WECHAT_API_BASE": "http://127.0.0.1:9000", "KEPUBOT_ADMIN_TOKEN": "x"}, ""},
		{map[string]string{"KEPUBOT_ADMIN_TOKEN": "x"}, ""}, // development: no secret
	} {
		_, err := LoadConfig("", env(tc.env))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("LoadConfig(%v) = %v, want no error", tc.env, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("LoadConfig(%v) = %v, want an error naming %s", tc.env, err, tc.want)
		}
	}
}

// Finding 1: the encoding mode is a config key and KEPUBOT_WECHAT_ENCODING_MODE.
func TestEncodingModeConfig(t *testing.T) {
	t.Parallel()
	key := "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	cfg, err := LoadConfig("", env(map[string]string{"KEPUBOT_WECHAT_ENCODING_MODE": "safe", "KEPUBOT_WECHAT_AES_KEY": key}))
	if err != nil || cfg.WeChat.EncodingMode != "safe" {
		t.Fatalf("safe with a key: %v, %v", cfg, err)
	}
	for _, e := range []map[string]string{
		{"KEPUBOT_WECHAT_ENCODING_MODE": "safe"}, // no key
		{"KEPUBOT_WECHAT_ENCODING_MODE": "secure", "KEPUBOT_WECHAT_AES_KEY": key},
	} {
		if _, err := LoadConfig("", env(e)); err == nil || !strings.Contains(err.Error(), "KEPUBOT_WECHAT_ENCODING_MODE") {
			t.Errorf("LoadConfig(%v) = %v, want an error naming KEPUBOT_WECHAT_ENCODING_MODE", e, err)
		}
	}
}

// Finding 5: the trusted proxies are configurable; a bad entry names the key.
func TestTrustedProxiesConfig(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig("", env(map[string]string{"KEPUBOT_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7"}))
	if err != nil || len(cfg.proxies) != 2 {
		t.Fatalf("LoadConfig = %+v, %v; want two proxies", cfg, err)
	}
	if _, err := LoadConfig("", env(map[string]string{"KEPUBOT_TRUSTED_PROXIES": "proxy.local"})); err == nil ||
		!strings.Contains(err.Error(), "KEPUBOT_TRUSTED_PROXIES") {
		t.Errorf("bad proxy: %v, want an error naming KEPUBOT_TRUSTED_PROXIES", err)
	}
}
