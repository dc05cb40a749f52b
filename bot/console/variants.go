package console

import (
	"fmt"

	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// variantLine is one row of an A/B campaign's results on its page: a
// variant (版本 A, B, ...) or the holdout that got the winner.
type variantLine struct {
	Name   string // 版本 A：the title; 其余的人 for the holdout
	Sent   int64
	Clicks int64
	CTR    string // 暂无 before anything was sent
	CI     string // the Wilson 95 % interval, "12.0%–30.5%"
	Winner bool
}

// variantLines turns a campaign's per-variant stats into the page's rows.
func variantLines(vs []campaign.VariantStats) []variantLine {
	var out []variantLine
	k := 0
	for _, v := range vs {
		l := variantLine{Sent: v.Sent, Clicks: v.Clicks, CTR: pct(v.Clicks, v.Sent), CI: "暂无", Winner: v.Winner}
		if v.Holdout {
			l.Name = "其余的人（发胜出的版本）"
		} else {
			l.Name = fmt.Sprintf("版本 %c", 'A'+rune(k))
			if v.Title != "" {
				l.Name += "：" + v.Title
			}
			k++
		}
		if v.Sent > 0 {
			l.CI = fmt.Sprintf("%.1f%%–%.1f%%", 100*v.CILow, 100*v.CIHigh)
		}
		out = append(out, l)
	}
	return out
}
