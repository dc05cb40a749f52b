package alert

import (
	"fmt"
	"strings"
	"time"
)

// Kind is a type of hazard with the advice residents get for it.
type Kind struct {
	ID   string
	Name string // the Chinese name of the hazard, as warnings say it
	// words an event names the hazard by (Chinese and English).
	words []string
	// Topics are the taxonomy topics of the advice items the notice links.
	Topics []string
	// Advice is what to do, short and plain, for farmers and the elderly.
	Advice string
}

// Kinds are the hazards kepubot has a notice template for; Other is used
// for any other event.
var Kinds = []Kind{
	{ID: "rainstorm", Name: "暴雨", words: []string{"暴雨", "rainstorm", "heavy rain"}, Topics: []string{"disaster", "weather"},
		Advice: "远离河边、山边和低洼地，不要涉水过河。果园、鱼塘提前排水。"},
	{ID: "typhoon", Name: "台风", words: []string{"台风", "typhoon", "tropical cyclone"}, Topics: []string{"disaster", "weather"},
		Advice: "关好门窗，收好阳台杂物，尽量不出门。加固大棚和果树支架。"},
	{ID: "cold_wave", Name: "寒潮", words: []string{"寒潮", "cold wave", "cold"}, Topics: []string{"weather", "agriculture"},
		Advice: "注意保暖，老人小孩少出门。菜地、果苗盖膜防冻，鱼塘加深水位。"},
	{ID: "heat", Name: "高温", words: []string{"高温", "heat"}, Topics: []string{"health", "weather"},
		Advice: "中午少出门，多喝水。下田干活避开中午11点到下午3点，防中暑。"},
	{ID: "gale", Name: "大风", words: []string{"大风", "gale", "wind"}, Topics: []string{"disaster", "safety"},
		Advice: "远离广告牌、大树和临时搭建物，加固大棚。"},
	{ID: "thunder", Name: "雷电", words: []string{"雷电", "雷雨", "thunder", "lightning"}, Topics: []string{"safety", "weather"},
		Advice: "别在大树下、田里躲雨，关掉电器，远离电线杆。"},
	{ID: "hail", Name: "冰雹", words: []string{"冰雹", "hail"}, Topics: []string{"disaster", "agriculture"},
		Advice: "待在室内，车辆和牲畜移到棚下。"},
	{ID: "fog", Name: "大雾", words: []string{"大雾", "fog"}, Topics: []string{"safety"},
		Advice: "开车慢行，打开雾灯，少晨练。"},
	{ID: "frost", Name: "霜冻", words: []string{"霜冻", "frost"}, Topics: []string{"agriculture", "weather"},
		Advice: "菜地、果苗盖膜或熏烟防冻。"},
	{ID: "drought", Name: "干旱", words: []string{"干旱", "drought"}, Topics: []string{"agriculture", "environment"},
		Advice: "节约用水，早晚错峰灌溉。"},
	{ID: "haze", Name: "灰霾", words: []string{"灰霾", "霾", "haze", "smog"}, Topics: []string{"health", "environment"},
		Advice: "少出门，出门戴口罩，老人小孩尤其注意。"},
}

// Other is the kind of an event no template knows.
var Other = Kind{ID: "other", Name: "灾害", Topics: []string{"disaster", "safety"}, Advice: "请留意政府通知，做好防范。"}

// KindOf is the kind of hazard a's main info block warns of.
func KindOf(a *Alert) Kind {
	info := a.Main()
	text := strings.ToLower(info.Event + " " + info.Headline)
	for _, k := range Kinds {
		for _, w := range k.words {
			if strings.Contains(text, w) {
				return k
			}
		}
	}
	return Other
}

// Colours of China's warning signals, from the worst.
const (
	Red    = "红色"
	Orange = "橙色"
	Yellow = "黄色"
	Blue   = "蓝色"
)

// Colour is a's warning colour: as its event or headline names it, else
// from its severity (Extreme red, Severe orange, Moderate yellow, Minor
// blue); "" when neither says.
func Colour(a *Alert) string {
	info := a.Main()
	for _, c := range []string{Red, Orange, Yellow, Blue} {
		if strings.Contains(info.Event, c) || strings.Contains(info.Headline, c) {
			return c
		}
	}
	switch info.Severity {
	case SeverityExtreme:
		return Red
	case SeveritySevere:
		return Orange
	case SeverityModerate:
		return Yellow
	case SeverityMinor:
		return Blue
	}
	return ""
}

// Urgent reports whether a is severe enough (Severe or Extreme, red or
// orange) to be sent at once: through quiet hours and frequency caps.
func Urgent(a *Alert) bool {
	info := a.Main()
	if info.Severity == SeverityExtreme || info.Severity == SeveritySevere {
		return true
	}
	c := Colour(a)
	return c == Red || c == Orange
}

// Link is an advice item a notice points to.
type Link struct {
	Title, URL string
}

// Notice is what residents get for an alert.
type Notice struct {
	Title   string // ≤ 64 characters
	Summary string // ≤ 200 characters
	Short   string // ≤ 64 characters: the elder-mode text
	Body    string
}

// Limits of a notice's fields (those of a content item).
const (
	maxTitle   = 64
	maxSummary = 200
	maxShort   = 64
)

// NoticeFor writes the notice of a for the towns it covers (their short
// Chinese names), with advice items to read; times are shown in loc.
func NoticeFor(a *Alert, towns []string, advice []Link, loc *time.Location) Notice {
	info := a.Main()
	k := KindOf(a)
	name := k.Name + Colour(a) + "预警"
	if k.ID == Other.ID && strings.TrimSpace(info.Event) != "" {
		name = strings.TrimSpace(info.Event)
		if !strings.Contains(name, "预警") {
			name += "预警"
		}
	}
	where := strings.Join(towns, "、")
	if where == "" {
		where = "增城"
	}
	var n Notice
	switch a.MsgType {
	case TypeCancel:
		n.Title = name + "解除：" + where
		n.Summary = fmt.Sprintf("%s的%s已解除。雨停风停后也要注意安全，检查房屋、电线和田地。", where, name)
		n.Short = name + "已解除（" + where + "）。仍要注意安全。"
	case TypeUpdate:
		n.Title = name + "（更新）：" + where
		n.Summary = fmt.Sprintf("%s：%s更新。%s", where, name, k.Advice)
		n.Short = name + "更新！" + where + "。" + firstSentence(k.Advice)
	default:
		n.Title = name + "：" + where
		n.Summary = fmt.Sprintf("%s发布%s，影响%s。%s", senderName(info), name, where, k.Advice)
		n.Short = name + "！" + where + "。" + firstSentence(k.Advice)
	}
	if exp := a.ExpiresAt(); !exp.IsZero() && a.MsgType != TypeCancel {
		n.Summary += "有效至" + exp.In(loc).Format("1月2日15:04") + "。"
	}
	var b strings.Builder
	for _, s := range []string{info.Headline, info.Description, info.Instruction} {
		if s = strings.TrimSpace(s); s != "" {
			b.WriteString(s + "\n\n")
		}
	}
	if a.MsgType != TypeCancel {
		b.WriteString("怎么做：" + k.Advice + "\n")
	}
	if len(advice) > 0 {
		b.WriteString("\n相关科普：\n")
		for _, l := range advice {
			b.WriteString("· " + l.Title + " " + l.URL + "\n")
		}
	}
	n.Body = strings.TrimSpace(b.String())
	n.Title, n.Summary, n.Short = clip(n.Title, maxTitle), clip(n.Summary, maxSummary), clip(n.Short, maxShort)
	return n
}

func senderName(info *Info) string {
	if s := strings.TrimSpace(info.SenderName); s != "" {
		return s
	}
	return "气象部门"
}

func firstSentence(s string) string {
	if i := strings.Index(s, "。"); i >= 0 {
		return s[:i+len("。")]
	}
	return s
}

// clip shortens s to n characters, ending in "…" when cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
