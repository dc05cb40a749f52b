package wechattest_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

func qr(action string, scene any, expire int) obj {
	s := obj{}
	switch v := scene.(type) {
	case string:
		s["scene_str"] = v
	case int:
		s["scene_id"] = v
	}
	m := obj{"action_name": action, "action_info": obj{"scene": s}}
	if expire > 0 {
		m["expire_seconds"] = expire
	}
	return m
}

func TestQRCode(t *testing.T) {
	t.Parallel()
	b := setup(t, wechattest.ServiceAccount)
	tests := []struct {
		name       string
		body       obj
		wantCode   int
		wantScene  string
		wantExpire any
	}{
		{"temporary string", qr("QR_STR_SCENE", "town-3", 3600), 0, "town-3", 3600.0},
		{"temporary id, default 60 s", qr("QR_SCENE", 42, 0), 0, "42", 60.0},
		{"expiry capped at 30 days", qr("QR_STR_SCENE", "x", 40*86400), 0, "x", 2592000.0},
		{"permanent string", qr("QR_LIMIT_STR_SCENE", "poster", 0), 0, "poster", nil},
		{"permanent id", qr("QR_LIMIT_SCENE", 7, 0), 0, "7", nil},
		{"permanent id over 100000", qr("QR_LIMIT_SCENE", 100001, 0), 40053, "", nil},
		{"scene_str of 65 characters", qr("QR_STR_SCENE", strings.Repeat("s", 65), 60), 40053, "", nil},
		{"empty scene_str", qr("QR_LIMIT_STR_SCENE", "", 0), 40053, "", nil},
		{"unknown action", qr("QR_NOPE", "x", 0), 40052, "", nil},
	}
	for _, tt := range tests {
		m := b.post(t, "/cgi-bin/qrcode/create", tt.body)
		wantCode(t, tt.name, m, tt.wantCode)
		if tt.wantCode != 0 {
			continue
		}
		if m["expire_seconds"] != tt.wantExpire {
			t.Errorf("%s: expire_seconds = %v, want %v", tt.name, m["expire_seconds"], tt.wantExpire)
		}
		if _, hasErr := m["errcode"]; hasErr {
			t.Errorf("%s: success carries errcode; the SDK treats any errmsg as failure", tt.name)
		}
		if scene, ok := b.srv.Scene(m["ticket"].(string)); !ok || scene != tt.wantScene {
			t.Errorf("%s: Scene = %q %v, want %q", tt.name, scene, ok, tt.wantScene)
		}
	}
}

func click(name, key string) obj { return obj{"type": "click", "name": name, "key": key} }

func TestMenu(t *testing.T) {
	t.Parallel()
	subs := func(n int) []obj {
		var s []obj
		for range n {
			s = append(s, click("s", "k"))
		}
		return s
	}
	tests := []struct {
		name    string
		buttons []obj
		want    int
	}{
		{"no buttons", nil, 40016},
		{"four buttons", []obj{click("a", "a"), click("b", "b"), click("c", "c"), click("d", "d")}, 40016},
		{"six sub-buttons", []obj{{"name": "p", "sub_button": subs(6)}}, 40023},
		{"name over 16 bytes", []obj{click(strings.Repeat("n", 17), "k")}, 40018},
		{"click without key", []obj{click("a", "")}, 40019},
		{"unknown type", []obj{{"type": "dance", "name": "a", "key": "k"}}, 40017},
		{"view without url", []obj{{"type": "view", "name": "a"}}, 40055},
		{"sub-button without key", []obj{{"name": "p", "sub_button": []obj{click("s", "")}}}, 40026},
		{"valid", []obj{click("a", "k"), {"name": "p", "sub_button": append(subs(4), obj{"type": "view", "name": "v", "url": "https://example.org"})}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, wechattest.ServiceAccount)
			wantCode(t, "menu/create", b.post(t, "/cgi-bin/menu/create", obj{"button": tt.buttons}), tt.want)
			menu := b.srv.Menu(appID)
			if tt.want != 0 {
				if menu != nil {
					t.Errorf("rejected menu was stored: %+v", menu)
				}
				wantCode(t, "menu/get", b.get(t, "/cgi-bin/menu/get", nil), 46003)
				return
			}
			if len(menu) != 2 || len(menu[1].Sub) != 5 || menu[1].Sub[4].URL != "https://example.org" {
				t.Errorf("Menu = %+v", menu)
			}
			wantCode(t, "menu/delete", b.get(t, "/cgi-bin/menu/delete", nil), 0)
			if b.srv.Menu(appID) != nil {
				t.Error("menu survived delete")
			}
		})
	}
}

func TestClearQuota(t *testing.T) {
	t.Parallel()
	b := setup(t, wechattest.SubscriptionAccount)
	ids := openIDs(2)
	for _, id := range ids {
		b.srv.Follow(appID, id)
	}
	b.post(t, "/cgi-bin/message/mass/send", massTo(ids, ""))
	wantCode(t, "second mass", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "")), 45028)
	wantCode(t, "clear", b.post(t, "/cgi-bin/clear_quota", obj{"appid": appID}), 0)
	wantCode(t, "after clear", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "")), 0)
	for range 9 {
		wantCode(t, "clear", b.post(t, "/cgi-bin/clear_quota", obj{"appid": appID}), 0)
	}
	wantCode(t, "11th clear", b.post(t, "/cgi-bin/clear_quota", obj{"appid": appID}), 48006)
	b.advance(t, 20*24*time.Hour)
	wantCode(t, "next month", b.post(t, "/cgi-bin/clear_quota", obj{"appid": appID}), 0)
}

func TestFaults(t *testing.T) {
	t.Parallel()
	const u = "oUser"
	tests := []struct {
		name  string
		fault wechattest.Fault
		want  []int // errcodes of four sends in a row
	}{
		{"count", wechattest.Fault{Path: "/cgi-bin/message/", Count: 2, ErrCode: -1}, []int{-1, -1, 0, 0}},
		{"rate 1", wechattest.Fault{Rate: 1, ErrCode: 45009}, []int{45009, 45009, 45009, 45009}},
		{"other path", wechattest.Fault{Path: "/cgi-bin/menu/", ErrCode: -1}, []int{0, 0, 0, 45047}},
		{"other app", wechattest.Fault{AppID: "wxother", ErrCode: -1}, []int{0, 0, 0, 45047}},
		{"latency only", wechattest.Fault{Count: 1, Latency: 20 * time.Millisecond}, []int{0, 0, 0, 45047}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, wechattest.ServiceAccount)
			b.srv.Follow(appID, u)
			b.srv.UserEvent(appID, u)
			b.srv.InjectFault(tt.fault)
			var got []int
			for range 4 {
				got = append(got, code(b.post(t, "/cgi-bin/message/custom/send", text(u, "x"))))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("errcodes = %v, want %v", got, tt.want)
			}
			delivered := 0
			for _, c := range tt.want {
				if c == 0 {
					delivered++
				}
			}
			if n := b.srv.DeliveredCount(appID); n != delivered {
				t.Errorf("DeliveredCount = %d, want %d (a faulted call has no effect)", n, delivered)
			}
			b.srv.ClearFaults()
			calls := b.srv.Calls()
			if last := calls[len(calls)-1]; last.Path != "/cgi-bin/message/custom/send" || last.AppID != appID || last.ErrCode != tt.want[3] {
				t.Errorf("last call = %+v", last)
			}
		})
	}
}
