package console

import (
	"regexp"
	"strings"

	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// audienceTermRE finds the terms of a segment expression: field:value,
// field:(a|b), and the bare flags.
var audienceTermRE = regexp.MustCompile(`([a-z_]+):(\([^)]*\)|[^\s&|!()]+)|\b(opted_out|subscribed|reachable)\b|&|\||!`)

// describeAudience says in Chinese who a segment expression selects, for
// showing beside the expression: `group:farmer & town:(paitan|zhengguo)`
// → 人群：农民 且 镇街：派潭镇或正果镇. It only describes; the segment
// package parses and checks. Terms it does not know stay as written.
func describeAudience(expr string, tax *taxonomy.Taxonomy) string {
	var b strings.Builder
	last := 0
	for _, m := range audienceTermRE.FindAllStringSubmatchIndex(expr, -1) {
		b.WriteString(strings.TrimSpace(expr[last:m[0]]))
		last = m[1]
		tok := expr[m[0]:m[1]]
		switch {
		case tok == "&":
			b.WriteString(" 且 ")
		case tok == "|":
			b.WriteString(" 或 ")
		case tok == "!":
			b.WriteString("非")
		case m[6] >= 0:
			b.WriteString(map[string]string{"opted_out": "已退订的", "subscribed": "关注中的", "reachable": "可推送的"}[tok])
		default:
			field, value := expr[m[2]:m[3]], strings.Trim(expr[m[4]:m[5]], "()")
			var names []string
			for _, v := range strings.Split(value, "|") {
				names = append(names, audienceValue(field, strings.TrimSpace(v), tax))
			}
			b.WriteString(audienceField(field) + "：" + strings.Join(names, "或"))
		}
	}
	b.WriteString(strings.TrimSpace(expr[last:]))
	return strings.TrimSpace(b.String())
}

func audienceField(f string) string {
	if n, ok := map[string]string{"group": "人群", "town": "镇街", "interest": "关注", "topic": "关注",
		"source": "来源", "active": "活跃"}[f]; ok {
		return n
	}
	return f
}

func audienceValue(field, v string, tax *taxonomy.Taxonomy) string {
	switch field {
	case "group":
		if g, ok := tax.MatchGroup(v); ok {
			return g.Name
		}
	case "town":
		if t, ok := tax.MatchTown(v); ok {
			return t.Name
		}
	case "interest", "topic":
		if t, ok := tax.Topic(v); ok {
			return t.Name
		}
		if ids, _ := tax.MatchTopics(v, nil); len(ids) == 1 {
			if t, ok := tax.Topic(ids[0]); ok {
				return t.Name
			}
		}
	case "active":
		if d, ok := strings.CutSuffix(v, "d"); ok {
			return "近 " + d + " 天互动过"
		}
	case "source":
		return "二维码渠道 " + v
	}
	return v
}

// reminderText says a reminder's lead time ("24h", "30m") in Chinese.
func reminderText(r string) string {
	if n, ok := strings.CutSuffix(r, "h"); ok {
		return n + " 小时"
	}
	if n, ok := strings.CutSuffix(r, "m"); ok {
		return n + " 分钟"
	}
	return r
}
