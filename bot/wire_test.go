package bot

import (
	"bytes"
	"encoding/xml"
	"strconv"
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
	// The encrypted reply's envelope, with what XML escapes in each field.
	for _, tc := range []struct {
		sealed, sig, nonce string
		ts                 int64
	}{
		{"b64+/AbC==", "0123456789abcdef0123456789abcdef01234567", "1406593475", 1795000000},
		{"<&>\"'\n\t\r]]>", "", "", -5},
		{"\xff\xfe\x01", "sig<", "n&n", 0},
	} {
		var got bytes.Buffer
		encodeEnvelope(&got, []byte(tc.sealed), tc.sig, strconv.FormatInt(tc.ts, 10), tc.nonce)
		want, err := xml.Marshal(message.ResponseEncryptedXMLMsg{EncryptedMsg: tc.sealed, MsgSignature: tc.sig, Timestamp: tc.ts, Nonce: tc.nonce})
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want) {
			t.Errorf("envelope %q: got\n%s\nwant\n%s", tc.sealed, got.String(), want)
		}
	}
}
