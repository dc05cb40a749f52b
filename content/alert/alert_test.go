package alert

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func towns(t testing.TB) []taxonomy.Town {
	t.Helper()
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	return tax.Towns
}

func TestParseSamples(t *testing.T) {
	tw := towns(t)
	for _, tc := range []struct {
		file      string
		msgType   string
		refs      int
		towns     []string
		colour    string
		urgent    bool
		kind      string
		wantLinks []string
	}{
		{"rainstorm_red.xml", TypeAlert, 0, []string{"licheng", "xintang"}, Red, true, "rainstorm", nil},
		{"rainstorm_red_update.xml", TypeUpdate, 1, []string{"licheng", "xintang"}, Red, true, "rainstorm", nil},
		{"rainstorm_red_cancel.xml", TypeCancel, 2, []string{"licheng", "xintang"}, Red, true, "rainstorm", nil},
		{"feed.atom", TypeAlert, 0, []string{"licheng", "zengjiang", "zhucun", "yongning", "lihu", "ningxi",
			"xintang", "shitan", "zhongxin", "zhengguo", "paitan", "xiaolou", "xiancun"}, Yellow, false, "heat", []string{"rainstorm_red.xml"}},
	} {
		doc, err := Parse(read(t, tc.file))
		if err != nil {
			t.Fatalf("Parse(%s): %v", tc.file, err)
		}
		if !slices.Equal(doc.Links, tc.wantLinks) {
			t.Errorf("Parse(%s) links = %v, want %v", tc.file, doc.Links, tc.wantLinks)
		}
		if len(doc.Alerts) != 1 {
			t.Fatalf("Parse(%s) = %d alerts, want 1", tc.file, len(doc.Alerts))
		}
		a := &doc.Alerts[0]
		if a.MsgType != tc.msgType || len(a.Refs()) != tc.refs || !a.Actionable() {
			t.Errorf("%s: msgType %q refs %v actionable %v, want %q with %d refs", tc.file, a.MsgType, a.Refs(), a.Actionable(), tc.msgType, tc.refs)
		}
		if got := Towns(a, tw); !slices.Equal(got, tc.towns) {
			t.Errorf("Towns(%s) = %v, want %v", tc.file, got, tc.towns)
		}
		if got := Colour(a); got != tc.colour {
			t.Errorf("Colour(%s) = %q, want %q", tc.file, got, tc.colour)
		}
		if got := Urgent(a); got != tc.urgent {
			t.Errorf("Urgent(%s) = %v, want %v", tc.file, got, tc.urgent)
		}
		if got := KindOf(a).ID; got != tc.kind {
			t.Errorf("KindOf(%s) = %q, want %q", tc.file, got, tc.kind)
		}
	}
}

func TestParseRejects(t *testing.T) {
	good := string(read(t, "rainstorm_red.xml"))
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"not xml", "hello", "no XML element"}, {"broken xml", "<alert", "not XML"},
		{"empty", "", "no XML element"},
		{"other root", `<html><body/></html>`, "not a CAP 1.2 alert"},
		{"cap 1.1", strings.Replace(good, "cap:1.2", "cap:1.1", 1), "not a CAP 1.2 alert"},
		{"no identifier", strings.Replace(good, "<identifier>44011841600000_20270315225800</identifier>", "", 1), "lacks identifier"},
		{"bad sent", strings.Replace(good, "<sent>2027-03-15T22:58:00+08:00</sent>", "<sent>yesterday</sent>", 1), "not a date-time"},
		{"update without references", strings.Replace(good, "<msgType>Alert</msgType>", "<msgType>Update</msgType>", 1), "without references"},
		{"unknown msgType", strings.Replace(good, "<msgType>Alert</msgType>", "<msgType>Panic</msgType>", 1), "unknown msgType"},
	} {
		doc, err := Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) || len(doc.Alerts) != 0 {
			t.Errorf("Parse(%s) = %d alerts, %v; want an error with %q", tc.name, len(doc.Alerts), err, tc.want)
		}
	}
}

func TestCodeCovers(t *testing.T) {
	for _, tc := range []struct {
		v, town string
		want    bool
	}{
		{"440118001", "440118001", true},
		{"440118100", "440118101", false}, // 新塘 is not 石滩
		{"440118", "440118104", true},     // the district
		{"440100", "440118104", true},     // Guangzhou
		{"440000", "440118104", true},     // Guangdong
		{"440117", "440118104", false},    // 从化
		{"440118104000", "440118104", true},
		{"440118104203", "440118104", true}, // a village of 派潭
		{"4401181", "440118104", false},
		{"44011A", "440118104", false},
		{"440118", "", false},
	} {
		if got := codeCovers(tc.v, tc.town); got != tc.want {
			t.Errorf("codeCovers(%q, %q) = %v, want %v", tc.v, tc.town, got, tc.want)
		}
	}
}

func TestCircleAndPolygon(t *testing.T) {
	tw := towns(t)
	a := &Alert{Info: []Info{{Area: []Area{{Circle: []string{"23.54,113.78 3"}}, {Polygon: []string{"bad"}}}}}}
	if got := Towns(a, tw); !slices.Equal(got, []string{"paitan"}) {
		t.Errorf("Towns(circle around 派潭) = %v, want [paitan]", got)
	}
}

func TestNotice(t *testing.T) {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	links := []Link{{Title: "暴雨来了怎么办", URL: "https://kepu.example.org/a/9"}}
	for _, tc := range []struct {
		file  string
		title string
		short string
		body  []string
	}{
		{"rainstorm_red.xml", "暴雨红色预警：荔城、新塘", "暴雨红色预警！荔城、新塘。远离河边、山边和低洼地，不要涉水过河。", []string{"怎么做", "暴雨来了怎么办 https://kepu.example.org/a/9", "停止户外作业"}},
		{"rainstorm_red_update.xml", "暴雨红色预警（更新）：荔城、新塘", "暴雨红色预警更新！荔城、新塘。远离河边、山边和低洼地，不要涉水过河。", []string{"继续发布"}},
		{"rainstorm_red_cancel.xml", "暴雨红色预警解除：荔城、新塘", "暴雨红色预警已解除（荔城、新塘）。仍要注意安全。", []string{"解除暴雨红色预警信号"}},
	} {
		doc, err := Parse(read(t, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		n := NoticeFor(&doc.Alerts[0], []string{"荔城", "新塘"}, links, shanghai)
		if n.Title != tc.title || n.Short != tc.short {
			t.Errorf("NoticeFor(%s) = %q / %q, want %q / %q", tc.file, n.Title, n.Short, tc.title, tc.short)
		}
		for _, w := range tc.body {
			if !strings.Contains(n.Body, w) {
				t.Errorf("NoticeFor(%s).Body lacks %q:\n%s", tc.file, w, n.Body)
			}
		}
		if utf8.RuneCountInString(n.Summary) > maxSummary || utf8.RuneCountInString(n.Short) > maxShort {
			t.Errorf("NoticeFor(%s) is over the limits: %q", tc.file, n.Summary)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"rainstorm_red.xml", "rainstorm_red_update.xml", "rainstorm_red_cancel.xml", "feed.atom"} {
		f.Add(read(f, name))
	}
	tw := towns(f)
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, _ := Parse(data)
		for i := range doc.Alerts {
			a := &doc.Alerts[i]
			if err := a.Validate(); err != nil {
				t.Errorf("Parse returned an invalid alert: %v", err)
			}
			n := NoticeFor(a, Towns(a, tw), nil, shanghai)
			if utf8.RuneCountInString(n.Title) > maxTitle || utf8.RuneCountInString(n.Short) > maxShort {
				t.Errorf("notice over the limits: %q %q", n.Title, n.Short)
			}
		}
	})
}
