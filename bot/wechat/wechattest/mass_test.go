package wechattest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

func openIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("o%05d", i)
	}
	return ids
}

func massTo(ids []string, clientMsgID string) obj {
	return obj{"touser": ids, "msgtype": "text", "text": obj{"content": "news"}, "clientmsgid": clientMsgID}
}

func TestMassSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  wechattest.AccountType
		run  func(t *testing.T, b *bundle)
	}{
		{"openid list needs 2 to 10000", wechattest.ServiceAccount, func(t *testing.T, b *bundle) {
			wantCode(t, "1 openid", b.post(t, "/cgi-bin/message/mass/send", massTo(openIDs(1), "")), 40130)
			wantCode(t, "10001 openids", b.post(t, "/cgi-bin/message/mass/send", massTo(openIDs(10001), "")), 40130)
			wantCode(t, "2 openids", b.post(t, "/cgi-bin/message/mass/send", massTo(openIDs(2), "")), 0)
		}},
		{"service account: 4 per user per month, extras filtered", wechattest.ServiceAccount, func(t *testing.T, b *bundle) {
			ids := openIDs(2)
			for i := range 5 {
				m := b.post(t, "/cgi-bin/message/mass/send", massTo(ids, ""))
				wantCode(t, "send", m, 0)
				job, ok := b.srv.MassJob(appID, int64(m["msg_id"].(float64)))
				if !ok {
					t.Fatal("no job recorded")
				}
				want := 2
				if i == 4 {
					want = 0
				}
				if job.TotalCount != 2 || job.FilterCount != want || job.SentCount != want {
					t.Errorf("send %d: job = %+v, want total 2, filter/sent %d", i+1, job, want)
				}
			}
			if n := len(b.srv.Delivered(appID, ids[0])); n != 4 {
				t.Errorf("delivered %d, want 4", n)
			}
			b.advance(t, 17*24*time.Hour) // February, Beijing time
			b.post(t, "/cgi-bin/message/mass/send", massTo(ids, ""))
			if n := len(b.srv.Delivered(appID, ids[0])); n != 5 {
				t.Errorf("delivered %d in the new month, want 5", n)
			}
		}},
		{"unfollowed users are filtered", wechattest.ServiceAccount, func(t *testing.T, b *bundle) {
			ids := openIDs(3)
			b.srv.Unfollow(appID, ids[1])
			m := b.post(t, "/cgi-bin/message/mass/send", massTo(ids, ""))
			job, _ := b.srv.MassJob(appID, int64(m["msg_id"].(float64)))
			if job.TotalCount != 3 || job.SentCount != 2 {
				t.Errorf("job = %+v, want total 3, sent 2", job)
			}
		}},
		{"clientmsgid dedups for 24 h with 45065", wechattest.ServiceAccount, func(t *testing.T, b *bundle) {
			ids := openIDs(2)
			first := b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "c1"))
			again := b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "c1"))
			wantCode(t, "repeat", again, 45065)
			if again["msg_id"] != first["msg_id"] {
				t.Errorf("45065 msg_id = %v, want %v", again["msg_id"], first["msg_id"])
			}
			if n := len(b.srv.Delivered(appID, ids[0])); n != 1 {
				t.Errorf("delivered %d, want 1", n)
			}
			wantCode(t, "65-byte id", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, strings.Repeat("x", 65))), 47001)
			b.advance(t, 24*time.Hour)
			wantCode(t, "after 24 h", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "c1")), 0)
		}},
		{"60 calls a minute, 100 a day", wechattest.ServiceAccount, func(t *testing.T, b *bundle) {
			ids := openIDs(2)
			for range 60 {
				wantCode(t, "send", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "")), 0)
			}
			wantCode(t, "61st in a minute", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "")), 45009)
			b.clock.Advance(time.Minute)
			for range 39 {
				wantCode(t, "send", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "")), 0)
			}
			wantCode(t, "101st in a day", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "")), 45009)
		}},
		{"subscription account: one mass send a day", wechattest.SubscriptionAccount, func(t *testing.T, b *bundle) {
			ids := openIDs(2)
			wantCode(t, "first", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "")), 0)
			wantCode(t, "second", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "")), 45028)
			b.advance(t, 24*time.Hour)
			wantCode(t, "next day", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "")), 0)
		}},
		{"sendall by tag and to all", wechattest.ServiceAccount, func(t *testing.T, b *bundle) {
			ids := openIDs(3)
			id := int(b.post(t, "/cgi-bin/tags/create", obj{"tag": obj{"name": "town"}})["tag"].(obj)["id"].(float64))
			b.post(t, "/cgi-bin/tags/members/batchtagging", obj{"openid_list": ids[:2], "tagid": id})
			m := b.post(t, "/cgi-bin/message/mass/sendall", obj{"filter": obj{"tag_id": id}, "msgtype": "mpnews", "mpnews": obj{"media_id": "M1"}})
			wantCode(t, "by tag", m, 0)
			if m["msg_data_id"] == nil {
				t.Error("mpnews send has no msg_data_id")
			}
			if n := len(b.srv.Delivered(appID, ids[2])); n != 0 {
				t.Errorf("untagged user got %d messages", n)
			}
			wantCode(t, "to all", b.post(t, "/cgi-bin/message/mass/sendall", obj{"filter": obj{"is_to_all": true}, "msgtype": "text", "text": obj{"content": "x"}}), 0)
			if n := len(b.srv.Delivered(appID, ids[2])); n != 1 {
				t.Errorf("to all: user got %d messages, want 1", n)
			}
		}},
		{"sendall counts against the 100 calls a day and the 4-a-month budget", wechattest.ServiceAccount, func(t *testing.T, b *bundle) {
			ids := openIDs(3)
			id := int(b.post(t, "/cgi-bin/tags/create", obj{"tag": obj{"name": "town"}})["tag"].(obj)["id"].(float64))
			b.post(t, "/cgi-bin/tags/members/batchtagging", obj{"openid_list": ids[:2], "tagid": id})
			byTag := obj{"filter": obj{"tag_id": id}, "msgtype": "text", "text": obj{"content": "x"}}
			toAll := obj{"filter": obj{"is_to_all": true}, "msgtype": "text", "text": obj{"content": "x"}}
			for range 3 {
				wantCode(t, "by tag", b.post(t, "/cgi-bin/message/mass/sendall", byTag), 0)
			}
			m := b.post(t, "/cgi-bin/message/mass/sendall", toAll)
			wantCode(t, "to all", m, 0)
			m = b.post(t, "/cgi-bin/message/mass/sendall", toAll) // the tagged two have had four
			job, _ := b.srv.MassJob(appID, int64(m["msg_id"].(float64)))
			if job.TotalCount != 3 || job.SentCount != 1 {
				t.Errorf("5th to all: job = %+v, want total 3, sent 1 (the month's budget of 4)", job)
			}
			if got := len(b.srv.Delivered(appID, ids[0])); got != 4 {
				t.Errorf("tagged user got %d mass messages, want 4", got)
			}
			for range 55 { // 60 a minute
				wantCode(t, "send", b.post(t, "/cgi-bin/message/mass/sendall", byTag), 0)
			}
			b.clock.Advance(time.Minute)
			for range 100 - 60 - 1 {
				wantCode(t, "send", b.post(t, "/cgi-bin/message/mass/sendall", byTag), 0)
			}
			wantCode(t, "list, 100th", b.post(t, "/cgi-bin/message/mass/send", massTo(ids, "")), 0)
			wantCode(t, "101st in a day by tag", b.post(t, "/cgi-bin/message/mass/sendall", byTag), 45009)
			wantCode(t, "101st in a day to all", b.post(t, "/cgi-bin/message/mass/sendall", toAll), 45009)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.typ)
			for _, id := range openIDs(3) {
				b.srv.Follow(appID, id)
			}
			tt.run(t, b)
		})
	}
}

func TestMassSendJobFinishWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t, wechattest.ServiceAccount)
	got := make(chan string, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("signature") != util.Signature(b.acct.Token, q.Get("timestamp"), q.Get("nonce")) {
			http.Error(w, "bad signature", http.StatusForbidden)
			got <- "bad signature"
			return
		}
		body, _ := io.ReadAll(r.Body)
		got <- string(body)
	}))
	defer hook.Close()
	b.srv.SetEventWebhook(appID, hook.URL)
	for _, id := range openIDs(2) {
		b.srv.Follow(appID, id)
	}
	b.post(t, "/cgi-bin/message/mass/send", massTo(openIDs(2), ""))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case body := <-got:
		for _, want := range []string{"MASSSENDJOBFINISH", "<TotalCount>2</TotalCount>", "<SentCount>2</SentCount>", "<MsgID>"} {
			if !strings.Contains(body, want) {
				t.Errorf("event %q lacks %q", body, want)
			}
		}
	case <-ctx.Done():
		t.Fatal("no MASSSENDJOBFINISH event")
	}
}
