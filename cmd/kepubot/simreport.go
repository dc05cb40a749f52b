package main

import (
	"fmt"
	"strings"
)

// simReport is the simulation's Markdown report: the command, the click
// model and the week-by-week click-through by arm, with the ratios.
func simReport(o simOptions, weeks []simWeek) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# kepubot simulate\n\n```\nkepubot simulate --residents %d --weeks %d --seed %d --out %s\n```\n\n", o.Residents, o.Weeks, o.Seed, o.Out)
	fmt.Fprintf(&b, "%d residents in three arms of the same make-up (random towns and groups, one hidden\n", o.Residents)
	fmt.Fprintf(&b, "interest each among their group's topics, a second one for %.0f%%), one push a week through the\n", 100*simSecondLike)
	b.WriteString("real campaign engine and the simulated WeChat. Twice a week a resident searches for something they\n")
	fmt.Fprintf(&b, "like (%.0f%%; they open a matching result %.0f%% of the time) or just chats. A push is opened\n", 100*simSearchRate, 100*simOpenResult)
	fmt.Fprintf(&b, "with probability %.2f when it is about a topic they like; otherwise %.2f when it is written for\n", simClickLiked, simClickGroup)
	fmt.Fprintf(&b, "their group, %.2f when for everyone, %.2f when for other groups only. Click-through =\n", simClickAll, simClickOthers)
	b.WriteString("clicks / sent, as the campaign stats count them.\n\n")
	b.WriteString("| week | personalized | group-only | random | personalized ÷ group | personalized ÷ random |\n|---|---|---|---|---|---|\n")
	for i, w := range weeks {
		p, g, r := w.CTR("personalized"), w.CTR("group"), w.CTR("random")
		fmt.Fprintf(&b, "| %d | %.1f%% (%d/%d) | %.1f%% (%d/%d) | %.1f%% (%d/%d) | %.2f× | %.2f× |\n", i+1,
			100*p, w.Clicks["personalized"], w.Sent["personalized"], 100*g, w.Clicks["group"], w.Sent["group"],
			100*r, w.Clicks["random"], w.Sent["random"], ctrRatio(p, g), ctrRatio(p, r))
	}
	b.WriteString("\n![click-through by week](ctr.svg)\n")
	return b.String()
}

// simChart draws the click-through of each arm by week as an SVG line
// chart.
func simChart(weeks []simWeek) string {
	const w, h, left, bottom, top, right = 560, 320, 50, 40, 20, 130
	top1 := 0.1
	for _, wk := range weeks {
		for _, a := range simArms {
			top1 = max(top1, wk.CTR(a))
		}
	}
	x := func(i int) float64 {
		if len(weeks) == 1 {
			return left
		}
		return left + float64(i)*float64(w-left-right)/float64(len(weeks)-1)
	}
	y := func(v float64) float64 { return top + (1-v/top1)*float64(h-top-bottom) }
	colors := map[string]string{"personalized": "#c0392b", "group": "#2471a3", "random": "#7f8c8d"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, top, left, h-bottom)
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" text-anchor="end">%.0f%%</text>`+"\n", left-4, y(f*top1)+4, 100*f*top1)
	}
	for i := range weeks {
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">week %d</text>`+"\n", x(i), h-bottom+16, i+1)
	}
	for k, a := range simArms {
		var pts []string
		for i, wk := range weeks {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(wk.CTR(a))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colors[a], strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", w-right+10, top+16*(k+1), colors[a], a)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d">click-through by week</text>`+"\n", left, top-6)
	b.WriteString("</svg>\n")
	return b.String()
}
