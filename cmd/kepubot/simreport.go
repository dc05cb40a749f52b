package main

import (
	"fmt"
	"strings"
)

// simReport is the simulation's Markdown report: the command, the click
// model and the week-by-week click-through by arm, with the ratios, the
// share of pushes on a liked topic, the residents left out for want of a
// good item, and the clicks per resident (what a skip costs).
func simReport(o simOptions, run simRun) string {
	var b strings.Builder
	arms := o.arms()
	cmd := fmt.Sprintf("kepubot simulate --residents %d --weeks %d --seed %d --library %d", o.Residents, o.Weeks, o.Seed, max(o.Library, 1))
	if o.SendTime {
		cmd += " --send-time"
	}
	fmt.Fprintf(&b, "# kepubot simulate\n\n```\n%s --out %s\n```\n\n", cmd, o.Out)
	fmt.Fprintf(&b, "%d residents in %d arms of the same make-up (%s; random towns and groups, one hidden\n", o.Residents, len(arms), strings.Join(arms, ", "))
	fmt.Fprintf(&b, "interest each among their group's topics, a second one for %.0f%%), one push a week through the\n", 100*simSecondLike)
	b.WriteString("real campaign engine and the simulated WeChat. Twice a week a resident searches for something they\n")
	fmt.Fprintf(&b, "like (%.0f%%; they open a matching result %.0f%% of the time) or just chats. A push is opened\n", 100*simSearchRate, 100*simOpenResult)
	fmt.Fprintf(&b, "with probability %.2f when it is about a topic they like; otherwise %.2f when it is written for\n", simClickLiked, simClickGroup)
	fmt.Fprintf(&b, "their group, %.2f when for everyone, %.2f when for other groups only. Click-through =\n", simClickAll, simClickOthers)
	b.WriteString("clicks / sent, as the campaign stats count them.\n\n")
	if o.Library > 1 {
		fmt.Fprintf(&b, "Library: %d items, the %d sample items and %d synthetic twins of each (same topics, audience,\n", run.Items, run.Items/o.Library, o.Library-1)
		b.WriteString("season and priority; a district's library has hundreds of items).\n\n")
	}
	if o.SendTime {
		fmt.Fprintf(&b, "Send time: each resident has a hidden reading hour (one of %v); they write to the bot then and\n", simHours)
		fmt.Fprintf(&b, "open a push that came within the hour before with the chance above, an earlier or later one with\n")
		fmt.Fprintf(&b, "%.1f× that chance. *personalized* is sent at %02d:00; *optimal* with send_time \"optimal\".\n\n", simOffHour, simFixedHour)
	}
	b.WriteString("| week |")
	for _, a := range arms {
		fmt.Fprintf(&b, " %s |", a)
	}
	for _, a := range arms[1:] {
		if o.SendTime {
			fmt.Fprintf(&b, " %s ÷ %s |", a, arms[0])
		} else {
			fmt.Fprintf(&b, " %s ÷ %s |", arms[0], a)
		}
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", 2*len(arms)-1) + "\n")
	total := newSimWeek()
	for i, w := range run.Weeks {
		fmt.Fprintf(&b, "| %d |", i+1)
		for _, a := range arms {
			fmt.Fprintf(&b, " %.1f%% (%d/%d) |", 100*w.CTR(a), w.Clicks[a], w.Sent[a])
			total.Sent[a] += w.Sent[a]
			total.Clicks[a] += w.Clicks[a]
			total.Liked[a] += w.Liked[a]
			total.Skipped[a] += w.Skipped[a]
			total.OnTime[a] += w.OnTime[a]
		}
		for _, a := range arms[1:] {
			fmt.Fprintf(&b, " %.2f× |", simRatio(o, w, a))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nOver the %d weeks:\n\n| arm | sent | on a liked topic | left out (no good item) | clicks | click-through | clicks per resident |", len(run.Weeks))
	if o.SendTime {
		b.WriteString(" came within the hour before they looked |")
	}
	b.WriteString("\n|---|---|---|---|---|---|---|")
	if o.SendTime {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, a := range arms {
		n := max(run.Residents[a], 1)
		fmt.Fprintf(&b, "| %s | %d | %.0f%% | %d | %d | %.1f%% | %.2f |", a, total.Sent[a], 100*float64(total.Liked[a])/float64(max(total.Sent[a], 1)),
			total.Skipped[a], total.Clicks[a], 100*total.CTR(a), float64(total.Clicks[a])/float64(n))
		if o.SendTime {
			fmt.Fprintf(&b, " %.0f%% |", 100*float64(total.OnTime[a])/float64(max(total.Sent[a], 1)))
		}
		b.WriteString("\n")
	}
	if o.SendTime {
		fmt.Fprintf(&b, "\nEffect of send_time \"optimal\" over the fixed %02d:00: %.2f× the click-through.\n", simFixedHour, ctrRatio(total.CTR(arms[1]), total.CTR(arms[0])))
	}
	b.WriteString("\n![click-through by week](ctr.svg)\n")
	return b.String()
}

// simChart draws the click-through of each arm by week as an SVG line
// chart.
func simChart(arms []string, weeks []simWeek) string {
	const w, h, left, bottom, top, right = 560, 320, 50, 40, 20, 130
	top1 := 0.1
	for _, wk := range weeks {
		for _, a := range arms {
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
	colors := map[string]string{"personalized": "#c0392b", "group": "#2471a3", "random": "#7f8c8d", "optimal": "#27ae60"}
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
	for k, a := range arms {
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
