package bot_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/silenceper/wechat/v2/util"
)

// FuzzWebhook posts arbitrary bodies, correctly signed, in plaintext mode:
// the webhook must answer 200 or 400, never panic or hang.
func FuzzWebhook(f *testing.F) {
	for _, name := range []string{"subscribe", "text_group", "location", "voice_profile"} {
		b, _ := os.ReadFile(filepath.Join("testdata", "in_"+name+".xml"))
		f.Add(b)
	}
	f.Add([]byte("<xml><FromUserName>o</FromUserName><MsgType>event</MsgType></xml>"))
	f.Add([]byte("<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><MsgId>-1</MsgId><Content>&#0;</Content></xml>"))
	fx := setup(f)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, body []byte) {
		ts, nonce := fuzzStamp(fx, &n)
		req := httptest.NewRequest("POST", "/wechat?signature="+util.Signature(fx.account.Token, ts, nonce)+
			"&timestamp="+ts+"&nonce="+nonce, bytes.NewReader(body))
		w := httptest.NewRecorder()
		postTo(fx, w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Errorf("status %d for %q", w.Code, body)
		}
	})
}

// FuzzDecrypt posts arbitrary Encrypt values with a valid msg_signature in
// safe mode: a message that will not decrypt is a 400, never a panic.
func FuzzDecrypt(f *testing.F) {
	f.Add("")
	f.Add("AAAA")
	f.Add("kb5rnx0oUd4r2uXfG2MS0O2lqFVjlFJ+b2pg4UwGrntNhVLkwBFzPr4bSs+HydYt1rTzqHn/G0ktWMK0yzsKh8YsflmLOROzHTYZRoWnSAgBEi9l5pJNAZWGb+Sp48jkRijsZXKSSvyVUlEgbaDfEw+1kRC56Cc3H+TaW47EnwyHutG4hmJT7KHsV/JDqVV6MpuwXJBMp+g8qH9gIOPtjj8f9XsFDZUNz2yavtsRKPu/fnbOK6A8fvcj7+LvDM8AjqsnRkU6yxq4fUXkjILkfn3ACXFBVYv6sy3dNmIfqjclU6IOxZpoUyGeN6zIy20+Ixpu1Rtq9OZv0ijBTdzQbjUnLskb2DkncICT6y2wCV3tzbzIRjuCA8BTHOKJgNgw3j+9JRA8yPGl0vf9q2O+6fmKXMEtj8XiCv/cmbnMkijTMdVNq64O4DOBfF4tuqmTOdE/y+jbX+X3rq+Ip2pFs3/Jw/xAFM/R4xO/OTmx5bxLanMyMbqw6DJxYxc/Z2fnufHWSTXXZT7fvHYC08tX6Rnle2Q3P+TTx87ioyDp5TvDlgE9L9GsGdVWwE/h/lQHKWNWbEwDeQ+fmcpn5y+4zlI6utCepmXs4fE6K/9C4a8U2ehKr3x6pLxKDTVJMW9M+YYDJRMAqYJkd8LQ7tbTA0k2TFhCkAgRzf5YrqUJRkQfhtEM=")
	fx := setup(f)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, enc string) {
		ts, nonce := fuzzStamp(fx, &n)
		body := "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
		q := "/wechat?encrypt_type=aes&signature=" + util.Signature(fx.account.Token, ts, nonce) +
			"&timestamp=" + ts + "&nonce=" + nonce + "&msg_signature=" + util.Signature(fx.account.Token, ts, nonce, xmlText(enc))
		req := httptest.NewRequest("POST", q, bytes.NewReader([]byte(body)))
		w := httptest.NewRecorder()
		postTo(fx, w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Errorf("status %d for Encrypt %q", w.Code, enc)
		}
	})
}

// xmlText is s as an XML parser reads it back from character data: line
// ends normalized to "\n" (XML 1.0 §2.11). WeChat signs what it sends, so
// a valid msg_signature is over that text.
func xmlText(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// fuzzStamp returns a fresh timestamp and a nonce never used before, so
// every input is judged on its body, not refused as a replay.
func fuzzStamp(fx *fixture, n *atomic.Int64) (ts, nonce string) {
	return strconv.FormatInt(fx.clock.Now().Unix(), 10), "f" + strconv.FormatInt(n.Add(1), 10)
}

func postTo(f *fixture, w http.ResponseWriter, r *http.Request) {
	f.handler.ServeHTTP(w, r)
}
