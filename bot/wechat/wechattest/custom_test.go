package wechattest_test

import (
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

func TestCustomServiceWindows(t *testing.T) {
	t.Parallel()
	const u = "oUser"
	send := func(t *testing.T, b *bundle) obj {
		t.Helper()
		return b.post(t, "/cgi-bin/message/custom/send", text(u, "hi"))
	}
	tests := []struct {
		name string
		run  func(t *testing.T, b *bundle)
	}{
		{"no window is 45015", func(t *testing.T, b *bundle) {
			wantCode(t, "send", send(t, b), 45015)
		}},
		{"unknown user is 40003", func(t *testing.T, b *bundle) {
			wantCode(t, "send", b.post(t, "/cgi-bin/message/custom/send", text("oNobody", "hi")), 40003)
		}},
		{"event window: 3 messages within 1 minute", func(t *testing.T, b *bundle) {
			b.srv.UserEvent(appID, u)
			for range 3 {
				wantCode(t, "send", send(t, b), 0)
			}
			wantCode(t, "4th send", send(t, b), 45047)
			b.clock.Advance(time.Minute)
			wantCode(t, "after a minute", send(t, b), 45015)
			if n := len(b.srv.Delivered(appID, u)); n != 3 {
				t.Errorf("delivered %d, want 3", n)
			}
		}},
		{"message window: 5 messages within 48 hours", func(t *testing.T, b *bundle) {
			b.srv.UserMessage(appID, u)
			b.advance(t, 47*time.Hour)
			for range 5 {
				wantCode(t, "send", send(t, b), 0)
			}
			wantCode(t, "6th send", send(t, b), 45047)
			b.clock.Advance(time.Hour)
			wantCode(t, "after 48 h", send(t, b), 45015)
		}},
		{"unfollowed user is 45015 even in a window", func(t *testing.T, b *bundle) {
			b.srv.UserMessage(appID, u)
			b.srv.Unfollow(appID, u)
			wantCode(t, "send", send(t, b), 45015)
		}},
		{"empty text is rejected without delivery", func(t *testing.T, b *bundle) {
			b.srv.UserMessage(appID, u)
			wantCode(t, "send", b.post(t, "/cgi-bin/message/custom/send", text(u, "")), 44004)
			if n := b.srv.DeliveredCount(appID); n != 0 {
				t.Errorf("DeliveredCount = %d, want 0", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, wechattest.ServiceAccount)
			b.srv.Follow(appID, u)
			tt.run(t, b)
		})
	}
}

func TestTemplateAndSubscribe(t *testing.T) {
	t.Parallel()
	const u = "oUser"
	tpl := func(id string) obj {
		return obj{"touser": u, "template_id": "T1", "data": obj{"thing1": obj{"value": "x"}}, "client_msg_id": id}
	}
	tests := []struct {
		name string
		run  func(t *testing.T, b *bundle)
	}{
		{"client_msg_id dedups", func(t *testing.T, b *bundle) {
			m1 := b.post(t, "/cgi-bin/message/template/send", tpl("c1"))
			m2 := b.post(t, "/cgi-bin/message/template/send", tpl("c1"))
			wantCode(t, "first", m1, 0)
			wantCode(t, "repeat", m2, 0)
			if m1["msgid"] != m2["msgid"] {
				t.Errorf("msgid %v then %v, want the same", m1["msgid"], m2["msgid"])
			}
			if n := len(b.srv.Delivered(appID, u)); n != 1 {
				t.Errorf("delivered %d, want 1", n)
			}
			b.post(t, "/cgi-bin/message/template/send", tpl("c2"))
			if n := len(b.srv.Delivered(appID, u)); n != 2 {
				t.Errorf("delivered %d after a new id, want 2", n)
			}
		}},
		{"unfollowed is 43004", func(t *testing.T, b *bundle) {
			b.srv.Unfollow(appID, u)
			wantCode(t, "send", b.post(t, "/cgi-bin/message/template/send", tpl("")), 43004)
		}},
		{"subscribe needs an opt-in, one per send", func(t *testing.T, b *bundle) {
			sub := obj{"touser": u, "template_id": "S1", "data": obj{"thing1": obj{"value": "x"}}}
			wantCode(t, "no opt-in", b.post(t, "/cgi-bin/message/subscribe/bizsend", sub), 43101)
			b.srv.SubscribeOptIn(appID, u, "S1")
			wantCode(t, "after opt-in", b.post(t, "/cgi-bin/message/subscribe/bizsend", sub), 0)
			wantCode(t, "opt-in used", b.post(t, "/cgi-bin/message/subscribe/bizsend", sub), 43101)
			got := b.srv.Delivered(appID, u)
			if len(got) != 1 || got[0].Channel != "subscribe" || got[0].Kind != "S1" {
				t.Errorf("Delivered = %+v, want one subscribe S1", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, wechattest.ServiceAccount)
			b.srv.Follow(appID, u)
			tt.run(t, b)
		})
	}
}
