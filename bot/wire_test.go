package bot

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// TestEncodeMatchesSDK checks that the webhook's own text reply encoding
// is byte for byte encoding/xml's, which the SDK used, for texts with
// CDATA ends, markup, control characters and empties.
func TestEncodeMatchesSDK(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ from, to, content string }{
		{"oUser000000000000000000001", "gh_kepubot", "您好，欢迎关注增城科普！🌱\n1 荔城街道"},
		{"oUser", "gh_x", ""},
		{"", "", "a]]>b]]>]]>c"},
		{"o]]>", "gh_<&>\"'", "<xml>&amp;\x01\t\r\n]]"},
		{"o", "g", "]]"},
		{"o", "g", "\xff\xfe invalid utf-8"},
	} {
		mix := &message.MixMessage{}
		mix.FromUserName, mix.ToUserName = message.CDATA(tc.from), message.CDATA(tc.to)
		reply := &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(tc.content)}
		a := &hookAccount{}
		var got bytes.Buffer
		if err := a.encode(&got, mix, reply, false, nil, 0, ""); err != nil {
			t.Fatal(err)
		}
		want, err := xml.Marshal(reply.MsgData) // the fields set by encode, as the SDK set them
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want) {
			t.Errorf("%q: got\n%s\nwant\n%s", tc.content, got.String(), want)
		}
	}
}
