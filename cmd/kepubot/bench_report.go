package main

import (
	"fmt"
	"html"
	"os"
	"sort"
	"strings"
	"time"
)

// benchReport is what `kepubot bench` measured.
type benchReport struct {
	Subscribers int
	Redis       string

	ImportTook         time.Duration
	BytesPerSubscriber float64
	MasterBytes        []int64 // growth of each master's used_memory by the import, ascending

	Counts []benchCount

	PlanTook, QueueTook time.Duration
	PlanAudience        int64
	PlanMassCalls       map[string]int64
	Queued              int64
	QueuedChunks        int

	Bulk, BulkBare           benchRate
	BulkCalls                map[string]int64
	PerMessage, Asynq, Naive benchRate
	Webhook                  benchRate
	WebhookP50, WebhookP99   time.Duration
}

// benchCount is one timed audience count.
type benchCount struct {
	Expr  string
	Count int64
	Took  time.Duration
}

// benchRate is N things done in Took.
type benchRate struct {
	N    int
	Took time.Duration
}

func (r benchRate) perSecond() float64 {
	if r.Took <= 0 {
		return 0
	}
	return float64(r.N) / r.Took.Seconds()
}

func ratio(a, b benchRate) float64 {
	if b.perSecond() == 0 {
		return 0
	}
	return a.perSecond() / b.perSecond()
}

func fmtCalls(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// markdown renders the report.
func (r *benchReport) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("# kepubot bench: %d subscribers on %s", r.Subscribers, r.Redis)
	p("")
	p("| step | kepubot | baseline (same run) | ratio |")
	p("|---|---|---|---|")
	p("| import (generate + write profiles) | %.1f s, %.0f subscribers/s | | |", r.ImportTook.Seconds(), float64(r.Subscribers)/r.ImportTook.Seconds())
	p("| Redis memory per subscriber | %.0f B | target ≤ 150 B (aim 110) | |", r.BytesPerSubscriber)
	for _, c := range r.Counts {
		p("| audience count: `%s` | %d in %.0f ms | | |", strings.ReplaceAll(c.Expr, "|", `\|`), c.Count, float64(c.Took.Microseconds())/1000)
	}
	p("| personalized district campaign: plan (dry run) | %.2f s (audience %d; mass calls: %s) | | |", r.PlanTook.Seconds(), r.PlanAudience, fmtCalls(r.PlanMassCalls))
	p("| personalized district campaign: snapshot + queue | %.2f s (%d recipients, %d chunk jobs) | | |", r.QueueTook.Seconds(), r.Queued, r.QueuedChunks)
	p("| planned + queued | %.2f s | target < 10 s (aim 5) | |", (r.PlanTook + r.QueueTook).Seconds())
	if r.Bulk.N == 0 {
		p("")
		p("(--counts-only: no delivery, no webhook.)")
		r.masters(p)
		return b.String()
	}
	p("| bulk: everyone by mass send | %.0f recipients/s (%d in %.1f s; calls: %s) | bare queue, same lists of 10,000: %.0f/s | %.2f× |",
		r.Bulk.perSecond(), r.Bulk.N, r.Bulk.Took.Seconds(), fmtCalls(r.BulkCalls), r.BulkBare.perSecond(), ratio(r.Bulk, r.BulkBare))
	p("| per message: customer-service, all in window | %.0f msgs/s (%d) | asynq, one task per message: %.0f/s | %.2f× |",
		r.PerMessage.perSecond(), r.PerMessage.N, r.Asynq.perSecond(), ratio(r.PerMessage, r.Asynq))
	p("| per message | | naive list queue: %.0f/s | %.2f× |", r.Naive.perSecond(), ratio(r.PerMessage, r.Naive))
	p("| webhook: 帮助 from 8 phones | %.0f msgs/s, p50 %.2f ms, p99 %.2f ms | | |", r.Webhook.perSecond(),
		float64(r.WebhookP50.Microseconds())/1000, float64(r.WebhookP99.Microseconds())/1000)
	r.masters(p)
	return b.String()
}

// masters reports each master's memory growth (a Cluster).
func (r *benchReport) masters(p func(string, ...any)) {
	if len(r.MasterBytes) > 1 {
		var parts []string
		for _, n := range r.MasterBytes {
			parts = append(parts, fmt.Sprintf("%.1f MB", float64(n)/1e6))
		}
		p("")
		p("Memory added per master by the import: %s.", strings.Join(parts, ", "))
	}
}

// svg renders the delivery comparisons as a bar chart: each path beside
// its baselines, in items per second.
func (r *benchReport) svg() []byte {
	type bar struct {
		label string
		v     float64
		base  bool
	}
	groups := []struct {
		title string
		bars  []bar
	}{
		{"bulk (recipients/s)", []bar{{"kepubot", r.Bulk.perSecond(), false}, {"bare queue", r.BulkBare.perSecond(), true}}},
		{"per message (msgs/s)", []bar{{"kepubot", r.PerMessage.perSecond(), false}, {"asynq", r.Asynq.perSecond(), true}, {"naive", r.Naive.perSecond(), true}}},
		{"webhook (msgs/s)", []bar{{"kepubot", r.Webhook.perSecond(), false}}},
	}
	const width, barH, gap, left = 640, 22, 6, 120
	y := 40
	var b strings.Builder
	body := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	for _, g := range groups {
		maxV := 1.0
		for _, x := range g.bars {
			maxV = max(maxV, x.v)
		}
		body(`<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y, html.EscapeString(g.title))
		y += 10
		for _, x := range g.bars {
			w := int(float64(width-left-110) * x.v / maxV)
			color := "#2b7bb9"
			if x.base {
				color = "#aaaaaa"
			}
			body(`<text x="10" y="%d">%s</text><rect x="%d" y="%d" width="%d" height="%d" fill="%s"/><text x="%d" y="%d">%.0f</text>`+"\n",
				y+barH-6, html.EscapeString(x.label), left, y, w, barH, color, left+w+6, y+barH-6, x.v)
			y += barH + gap
		}
		y += 20
	}
	var out strings.Builder
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="13">`+"\n", width, y)
	fmt.Fprintf(&out, `<text x="10" y="20" font-size="15">kepubot bench: %d subscribers, %s</text>`+"\n", r.Subscribers, html.EscapeString(r.Redis))
	out.WriteString(b.String())
	out.WriteString("</svg>\n")
	return []byte(out.String())
}

func writeFile(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
