package wechat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

func TestSendCustomerService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	b.follow("oA")
	err := b.c.SendText(ctx, "oA", "hi")
	if Classify(err) != WindowClosed {
		t.Fatalf("SendText without a window: %v, want WindowClosed", err)
	}
	fake.UserEvent(b.appID, "oA")
	if err := b.c.SendText(ctx, "oA", "hi"); err != nil {
		t.Fatalf("SendText: %v", err)
	}
	if err := b.c.SendNews(ctx, "oA", Article{Title: "Comets", Description: "d", URL: "https://e.org/c", PicURL: "https://e.org/p"}); err != nil {
		t.Fatalf("SendNews: %v", err)
	}
	if err := b.c.SendText(ctx, "oA", "third"); err != nil {
		t.Fatalf("SendText: %v", err)
	}
	if err := b.c.SendText(ctx, "oA", "fourth"); Classify(err) != QuotaUsed {
		t.Errorf("4th message in an event window: %v, want QuotaUsed", err)
	}
	got := fake.Delivered(b.appID, "oA")
	if len(got) != 3 || got[1].Kind != "news" || got[1].Content != "Comets" {
		t.Errorf("Delivered = %+v", got)
	}
	if n := counterValue(b.c.metrics.calls.WithLabelValues("custom_send", "45015")); n != 1 {
		t.Errorf("kepubot_wechat_api_calls_total{custom_send,45015} = %v, want 1", n)
	}
	if n := counterValue(b.c.metrics.calls.WithLabelValues("custom_send", "0")); n != 3 {
		t.Errorf("kepubot_wechat_api_calls_total{custom_send,0} = %v, want 3", n)
	}
}

func TestSendTemplate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	b.follow("oA")
	m := TemplateMessage{ToUser: "oA", TemplateID: "T1", URL: "https://e.org", Data: map[string]string{"thing1": "Star party"}, ClientMsgID: "event-7-oA"}
	id1, err := b.c.SendTemplate(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := b.c.SendTemplate(ctx, m)
	if err != nil || id2 != id1 {
		t.Errorf("repeat SendTemplate = %d, %v; want %d", id2, err, id1)
	}
	if n := len(fake.Delivered(b.appID, "oA")); n != 1 {
		t.Errorf("delivered %d, want 1", n)
	}
	fake.Unfollow(b.appID, "oA")
	m.ClientMsgID = ""
	if _, err := b.c.SendTemplate(ctx, m); Classify(err) != Unfollowed {
		t.Errorf("SendTemplate to an unfollowed user: %v, want Unfollowed", err)
	}
}

func TestSendSubscribe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	b.follow("oA")
	m := SubscribeMessage{ToUser: "oA", TemplateID: "S1", Page: "https://e.org", Data: map[string]string{"thing1": "x"}}
	err := b.c.SendSubscribe(ctx, m)
	if code, _ := Code(err); code != 43101 {
		t.Errorf("SendSubscribe without opt-in: %v, want 43101", err)
	}
	fake.SubscribeOptIn(b.appID, "oA", "S1")
	if err := b.c.SendSubscribe(ctx, m); err != nil {
		t.Errorf("SendSubscribe after opt-in: %v", err)
	}
}

func openIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return ids
}

func TestMassSend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	ids := openIDs("o", 3)
	b.follow(ids...)

	if _, err := b.c.MassSendToOpenIDs(ctx, ids[:1], MassMessage{Text: "x"}, ""); err == nil {
		t.Error("MassSendToOpenIDs with one openid succeeded")
	}
	if _, err := b.c.MassSendToOpenIDs(ctx, ids, MassMessage{Text: "x"}, strings.Repeat("c", 65)); err == nil {
		t.Error("MassSendToOpenIDs with a 65-byte clientmsgid succeeded")
	}
	if n := b.calls("/cgi-bin/message/mass/send"); n != 0 {
		t.Errorf("invalid sends reached WeChat: %d calls", n)
	}

	res, err := b.c.MassSendToOpenIDs(ctx, ids, MassMessage{Text: "Eclipse tonight"}, "campaign-1")
	if err != nil || res.MsgID == 0 {
		t.Fatalf("MassSendToOpenIDs = %+v, %v", res, err)
	}
	_, err = b.c.MassSendToOpenIDs(ctx, ids, MassMessage{Text: "Eclipse tonight"}, "campaign-1")
	var we *Error
	if Classify(err) != Duplicate || !errors.As(err, &we) || we.MsgID != res.MsgID {
		t.Errorf("repeat mass send: %v, want Duplicate with msg_id %d", err, res.MsgID)
	}
	if n := len(fake.Delivered(b.appID, ids[0])); n != 1 {
		t.Errorf("delivered %d, want 1", n)
	}

	tag, err := b.c.CreateTag(ctx, "town-3")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.c.TagUsers(ctx, tag, ids[:2]); err != nil {
		t.Fatal(err)
	}
	res, err = b.c.MassSendToTag(ctx, tag, MassMessage{MediaID: "MEDIA1"}, "")
	if err != nil || res.MsgDataID == 0 {
		t.Fatalf("MassSendToTag = %+v, %v; want a msg_data_id", res, err)
	}
	job, _ := fake.MassJob(b.appID, res.MsgID)
	if job.SentCount != 2 {
		t.Errorf("tag send reached %d users, want 2", job.SentCount)
	}
}

func TestMassSendRetryableErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, ServiceAccount)
	ids := openIDs("o", 2)
	b.follow(ids...)
	// Fetch the token first, and give the send 300 ms to reach the fake
	// (which then answers after 3 s): on a loaded machine or a Redis
	// Cluster, 50 ms could run out before the request left, and the slow
	// answer would then go to the next send.
	if _, err := b.c.AccessToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	fake.InjectFault(wechattest.Fault{AppID: b.appID, Path: "/cgi-bin/message/mass/", Count: 1, Latency: 3 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := b.c.MassSendToOpenIDs(ctx, ids, MassMessage{Text: "x"}, "")
	if Classify(err) != Retry {
		t.Errorf("mass send past its deadline: %v, class %v, want Retry", err, Classify(err))
	}
	fake.InjectFault(wechattest.Fault{AppID: b.appID, Path: "/cgi-bin/message/mass/", Count: 1, ErrCode: 45009})
	_, err = b.c.MassSendToOpenIDs(context.Background(), ids, MassMessage{Text: "x"}, "")
	if Classify(err) != RateLimited {
		t.Errorf("mass send at 45009: %v, want RateLimited", err)
	}
	fake.InjectFault(wechattest.Fault{AppID: b.appID, Path: "/cgi-bin/message/mass/", Count: 1, ErrCode: -1})
	_, err = b.c.MassSendToOpenIDs(context.Background(), ids, MassMessage{Text: "x"}, "")
	if Classify(err) != Retry {
		t.Errorf("mass send at -1: %v, want Retry", err)
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	ids := openIDs("o", 120)
	b.follow(ids...)
	id, err := b.c.CreateTag(ctx, "grade-5")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.CreateTag(ctx, "grade-5"); Classify(err) != Permanent {
		t.Errorf("duplicate tag: %v, want Permanent", err)
	} else if code, _ := Code(err); code != 45157 {
		t.Errorf("duplicate tag errcode = %d, want 45157", code)
	}
	if err := b.c.TagUsers(ctx, id, ids); err != nil {
		t.Fatal(err)
	}
	if n := b.calls("/cgi-bin/tags/members/batchtagging"); n != 3 {
		t.Errorf("batchtagging calls = %d, want 3 for 120 openids", n)
	}
	tags, err := b.c.ListTags(ctx)
	if err != nil || len(tags) != 1 || tags[0].Count != 120 || tags[0].Name != "grade-5" {
		t.Errorf("ListTags = %+v, %v", tags, err)
	}
	if err := b.c.UntagUsers(ctx, id, ids[:60]); err != nil {
		t.Fatal(err)
	}
	if got := fake.UserTags(b.appID, ids[0]); len(got) != 0 {
		t.Errorf("untagged user keeps %v", got)
	}
	if err := b.c.DeleteTag(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.c.DeleteTag(ctx, id); err == nil {
		t.Error("deleting a deleted tag succeeded")
	}
}

func TestListFollowers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	ids := openIDs("o", 10003)
	b.follow(ids...)
	var all []string
	next := ""
	for page := 0; ; page++ {
		got, n, total, err := b.c.ListFollowers(ctx, next)
		if err != nil {
			t.Fatal(err)
		}
		if total != len(ids) {
			t.Errorf("total = %d, want %d", total, len(ids))
		}
		all = append(all, got...)
		if next = n; next == "" {
			break
		}
		if page > 2 {
			t.Fatal("no end of pages")
		}
	}
	if len(all) != len(ids) || all[10002] != ids[10002] {
		t.Errorf("got %d followers, want %d", len(all), len(ids))
	}
}

func TestCreateQRCode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	q, err := b.c.CreateQRCode(ctx, "town-3", true, time.Hour)
	if err != nil || q.ExpireSeconds != 3600 || q.URL == "" {
		t.Fatalf("temporary QR = %+v, %v", q, err)
	}
	if scene, _ := fake.Scene(q.Ticket); scene != "town-3" {
		t.Errorf("scene = %q, want town-3", scene)
	}
	q, err = b.c.CreateQRCode(ctx, "poster-科普", false, 0)
	if err != nil || q.ExpireSeconds != 0 {
		t.Fatalf("permanent QR = %+v, %v", q, err)
	}
	if scene, _ := fake.Scene(q.Ticket); scene != "poster-科普" {
		t.Errorf("scene = %q", scene)
	}
	for _, tt := range []struct {
		scene  string
		temp   bool
		expire time.Duration
	}{
		{"", true, time.Hour},
		{strings.Repeat("s", 65), false, 0},
		{"x", true, 31 * 24 * time.Hour},
	} {
		if _, err := b.c.CreateQRCode(ctx, tt.scene, tt.temp, tt.expire); err == nil {
			t.Errorf("CreateQRCode(%q, %v, %v) succeeded", tt.scene, tt.temp, tt.expire)
		}
	}
	if n := b.calls("/cgi-bin/qrcode/create"); n != 2 {
		t.Errorf("qrcode/create calls = %d, want 2 (invalid ones not sent)", n)
	}
}

func TestPublishMenu(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, ServiceAccount)
	leaf := func(k string) MenuButton { return MenuButton{Type: "click", Name: k, Key: k} }
	menu := []MenuButton{
		leaf("quiz"),
		{Name: "More", Sub: []MenuButton{leaf("a"), {Type: "view", Name: "Site", URL: "https://e.org"}}},
	}
	if err := b.c.PublishMenu(ctx, menu); err != nil {
		t.Fatal(err)
	}
	got := fake.Menu(b.appID)
	if len(got) != 2 || got[0].Key != "quiz" || len(got[1].Sub) != 2 || got[1].Sub[1].URL != "https://e.org" {
		t.Errorf("published menu = %+v", got)
	}
	six := []MenuButton{{Name: "p", Sub: []MenuButton{leaf("1"), leaf("2"), leaf("3"), leaf("4"), leaf("5"), leaf("6")}}}
	for _, bad := range [][]MenuButton{nil, {leaf("1"), leaf("2"), leaf("3"), leaf("4")}, six, {{Type: "click", Name: "k"}}} {
		if err := b.c.PublishMenu(ctx, bad); err == nil {
			t.Errorf("PublishMenu(%+v) succeeded", bad)
		}
	}
	if n := b.calls("/cgi-bin/menu/create"); n != 1 {
		t.Errorf("menu/create calls = %d, want 1", n)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
