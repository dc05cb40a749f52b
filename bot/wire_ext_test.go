package bot_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestWebhookWireVariants posts the rarer wire forms the webhook decodes:
// a JSON body (the SDK's parser) and a POST that carries echostr (answered
// "success", nothing handled, as the SDK did).
func TestWebhookWireVariants(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.phone.Event(f.ctx, "oWire000000000000000000001", "subscribe", "", nil)
	for i, tc := range []struct {
		name, contentType, query, body string
		wantStatus                     int
		wantIn                         string
	}{
		{"json body", "application/json", "",
			`{"ToUserName":"gh_bench","FromUserName":"oWire000000000000000000001","CreateTime":%d,"MsgType":"text","Content":"帮助","MsgId":%d}`,
			200, "<MsgType>text</MsgType>"},
		{"echostr on a post", "text/xml", "&echostr=abc",
			`<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oWire000000000000000000001]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[帮助]]></Content><MsgId>%d</MsgId></xml>`,
			200, "success"},
		{"malformed xml", "text/xml", "", `<xml><ToUserName>%d %d`, 400, "malformed message"},
	} {
		now := f.clock.Now()
		id := int64(7_000_000 + i)
		req := signedText(f.url, f.account, false, "oWire000000000000000000001", "", id, now)
		req.URL.RawQuery += tc.query
		req.Body = io.NopCloser(bytes.NewReader([]byte(fmt.Sprintf(tc.body, now.Unix(), id))))
		req.ContentLength = -1
		req.Header.Set("Content-Type", tc.contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || !strings.Contains(string(got), tc.wantIn) {
			t.Errorf("%s: got %d %q, want %d containing %q", tc.name, resp.StatusCode, got, tc.wantStatus, tc.wantIn)
		}
	}
}
