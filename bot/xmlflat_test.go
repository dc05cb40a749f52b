package bot

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// flatSeeds are bodies of the shape the fast path reads, and near misses
// it must leave to encoding/xml.
var flatSeeds = []string{
	"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oA]]></FromUserName><CreateTime>1803000010</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[农民]]></Content><MsgId>24680000000000001</MsgId></xml>",
	"<xml>\n <ToUserName>gh_x</ToUserName>\n <Encrypt><![CDATA[abc+/=]]></Encrypt>\n</xml>\n",
	"<xml><FromUserName>oA</FromUserName><MsgType>event</MsgType><Event>subscribe</Event><EventKey><![CDATA[qrscene_1]]></EventKey></xml>",
	"<xml><Content><![CDATA[a]]>b</Content></xml>",
	"<xml><Content>a &amp; b</Content></xml>",
	"<xml><Content>a\r\nb</Content></xml>",
	"<xml><MsgId> 12</MsgId></xml>",
	"<xml><MsgId>+12</MsgId></xml>",
	"<xml><MsgId>99999999999999999999</MsgId></xml>",
	"<xml><Content>x</Content><Content>y</Content></xml>",
	"<xml><Content a='1'>x</Content></xml>",
	"<xml><Content>\x00</Content></xml>",
	"<xml><Content>\xff</Content></xml>",
	"<xml><Content/></xml>",
	"<xml><Content></Content></xml>trailing",
	"<?xml version=\"1.0\"?><xml><Content>x</Content></xml>",
	"<xml><!-- c --><Content>x</Content></xml>",
	"<xml><Content><![CDATA[]]]]><![CDATA[>]]></Content></xml>",
	"<xml><Location_X>23.1</Location_X></xml>",
	"<xml><MsgID>5</MsgID></xml>",
	"<x><Content>x</Content></x>",
}

// TestFlatXMLTakesCommonMessages: the fast path reads WeChat's texts,
// events and encrypted envelopes (else it would save nothing), and gives
// the near misses to encoding/xml.
func TestFlatXMLTakesCommonMessages(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join("testdata", "in_*.xml"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(n) == "in_location.xml" || filepath.Base(n) == "in_voice_profile.xml" {
			continue // fields the fast path leaves to encoding/xml
		}
		if !flatMix(b, &message.MixMessage{}) {
			t.Errorf("%s: not read by the fast path", n)
		}
	}
	for i, s := range flatSeeds {
		_, env := flatEnvelope([]byte(s))
		fast := flatMix([]byte(s), &message.MixMessage{}) || env
		if fast != (i < 3) {
			t.Errorf("scanFlat(%q) = %v, want %v", s, fast, i < 3)
		}
		checkFlat(t, []byte(s))
	}
}

// FuzzFlatXML: whatever the fast path reads, it reads as encoding/xml
// does, for the message and for the encrypted envelope.
func FuzzFlatXML(f *testing.F) {
	for _, s := range flatSeeds {
		f.Add([]byte(s))
	}
	names, _ := filepath.Glob(filepath.Join("testdata", "in_*.xml"))
	for _, n := range names {
		b, _ := os.ReadFile(n)
		f.Add(b)
	}
	f.Fuzz(checkFlat)
}

func checkFlat(t *testing.T, b []byte) {
	var got message.MixMessage
	gotErr := unmarshalMix(b, &got)
	var want message.MixMessage
	wantErr := xml.Unmarshal(b, &want)
	if (gotErr == nil) != (wantErr == nil) || gotErr == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("unmarshalMix(%q) = %+v, %v; encoding/xml: %+v, %v", b, got, gotErr, want, wantErr)
	}
	enc, gotErr := unmarshalEnvelope(b)
	var env struct {
		Encrypt string `xml:"Encrypt"`
	}
	wantErr = xml.Unmarshal(b, &env)
	if (gotErr == nil) != (wantErr == nil) || gotErr == nil && enc != env.Encrypt {
		t.Errorf("unmarshalEnvelope(%q) = %q, %v; encoding/xml: %q, %v", b, enc, gotErr, env.Encrypt, wantErr)
	}
}
