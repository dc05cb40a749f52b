package bot

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// WeChat's message XML is flat: <xml>, then one element per field, each a
// CDATA section or plain text. encoding/xml reads it through reflection
// and a token per element (~20 % of the webhook's own CPU time, before
// this). scanFlat reads exactly that shape and nothing else: a prolog, a
// comment, an attribute, nesting, an entity or character reference, "\r"
// (which XML turns into "\n"), a character XML does not allow, a repeated
// or unknown element: it gives up, and the caller hands the body to
// encoding/xml. So when the fast path answers, it answers what
// encoding/xml would, field for field (FuzzFlatXML checks that on
// arbitrary input).

// flatMixFields are the MixMessage fields the fast path fills: those of
// texts and of common events (encoding/xml handles the rest).
var flatMixFields = [...]struct {
	name string
	set  func(m *message.MixMessage, v []byte) bool
}{
	{"ToUserName", func(m *message.MixMessage, v []byte) bool { m.ToUserName = message.CDATA(v); return true }},
	{"FromUserName", func(m *message.MixMessage, v []byte) bool { m.FromUserName = message.CDATA(v); return true }},
	{"CreateTime", func(m *message.MixMessage, v []byte) (ok bool) { m.CreateTime, ok = flatInt(v); return ok }},
	{"MsgType", func(m *message.MixMessage, v []byte) bool { m.MsgType = message.MsgType(v); return true }},
	{"MsgId", func(m *message.MixMessage, v []byte) (ok bool) { m.MsgID, ok = flatInt(v); return ok }},
	{"Content", func(m *message.MixMessage, v []byte) bool { m.Content = string(v); return true }},
	{"Event", func(m *message.MixMessage, v []byte) bool { m.Event = message.EventType(v); return true }},
	{"EventKey", func(m *message.MixMessage, v []byte) bool { m.EventKey = string(v); return true }},
}

// unmarshalMix decodes message XML into mix, as xml.Unmarshal does.
func unmarshalMix(raw []byte, mix *message.MixMessage) error {
	if flatMix(raw, mix) {
		return nil
	}
	*mix = message.MixMessage{}
	return xml.Unmarshal(raw, mix)
}

// flatMix is unmarshalMix's fast path; false: left to encoding/xml.
func flatMix(raw []byte, mix *message.MixMessage) bool {
	seen := 0
	return scanFlat(raw, func(name, v []byte) bool {
		for i, f := range flatMixFields {
			if f.name == string(name) {
				if seen&(1<<i) != 0 {
					return false // repeated
				}
				seen |= 1 << i
				return f.set(mix, v)
			}
		}
		return false
	})
}

// unmarshalEnvelope returns the Encrypt field of an encrypted request's
// body, as xml.Unmarshal into struct{ Encrypt string } does.
func unmarshalEnvelope(body []byte) (string, error) {
	if enc, ok := flatEnvelope(body); ok {
		return enc, nil
	}
	var env struct {
		Encrypt string `xml:"Encrypt"`
	}
	err := xml.Unmarshal(body, &env)
	return env.Encrypt, err
}

// flatEnvelope is unmarshalEnvelope's fast path; false: left to
// encoding/xml.
func flatEnvelope(body []byte) (string, bool) {
	var enc []byte
	var seenTo, seenEnc bool
	ok := scanFlat(body, func(name, v []byte) bool {
		switch {
		case string(name) == "ToUserName" && !seenTo:
			seenTo = true
			return true
		case string(name) == "Encrypt" && !seenEnc:
			seenEnc, enc = true, v
			return true
		}
		return false
	})
	return string(enc), ok
}

// scanFlat calls field with each element of a flat <xml> document, in
// order, and reports whether the document had exactly that shape and
// field accepted every element.
func scanFlat(b []byte, field func(name, value []byte) bool) bool {
	if bytes.IndexByte(b, '\r') >= 0 {
		return false
	}
	b = trimXMLSpace(b)
	if !bytes.HasPrefix(b, []byte("<xml>")) {
		return false
	}
	b = b[len("<xml>"):]
	for {
		b = trimXMLSpace(b)
		if bytes.HasPrefix(b, []byte("</xml>")) {
			return len(trimXMLSpace(b[len("</xml>"):])) == 0
		}
		if len(b) < 2 || b[0] != '<' || !isASCIILetter(b[1]) {
			return false
		}
		i := 2
		for i < len(b) && (isASCIILetter(b[i]) || b[i] >= '0' && b[i] <= '9' || b[i] == '_') {
			i++
		}
		if i >= len(b) || b[i] != '>' {
			return false
		}
		name := b[1:i]
		b = b[i+1:]
		var v []byte
		if rest, ok := bytes.CutPrefix(b, []byte("<![CDATA[")); ok {
			end := bytes.Index(rest, []byte("]]>"))
			if end < 0 {
				return false
			}
			v, b = rest[:end], rest[end+len("]]>"):]
		} else {
			end := bytes.IndexByte(b, '<')
			if end < 0 {
				return false
			}
			v, b = b[:end], b[end:]
			if bytes.IndexByte(v, '&') >= 0 || bytes.IndexByte(v, ']') >= 0 {
				return false
			}
		}
		if len(b) < len(name)+3 || b[0] != '<' || b[1] != '/' || !bytes.Equal(b[2:2+len(name)], name) || b[2+len(name)] != '>' {
			return false
		}
		b = b[len(name)+3:]
		if !xmlChars(v) || !field(name, v) {
			return false
		}
	}
}

// flatInt parses an integer field: digits with an optional minus sign
// (anything else, even what encoding/xml accepts, goes to encoding/xml).
func flatInt(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, true
	}
	for i, c := range v {
		if !(c >= '0' && c <= '9' || c == '-' && i == 0 && len(v) > 1) {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil
}

// xmlChars reports whether v is valid UTF-8 of characters XML allows
// (encoding/xml refuses the rest).
func xmlChars(v []byte) bool {
	for len(v) > 0 {
		c := v[0]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' {
				return false
			}
			v = v[1:]
			continue
		}
		r, size := utf8.DecodeRune(v)
		if r == utf8.RuneError && size == 1 || r >= 0xD800 && r <= 0xDFFF || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		v = v[size:]
	}
	return true
}

func trimXMLSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
