package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A small district through the real service: over its weeks, personalized
// pushes are opened more than group-only ones, and those more than random
// ones; the report and the chart are written. Not parallel: it runs
// before the package's parallel tests, so their load does not slow its
// webhook past WeChat's 5-second wait.
func TestSimulateOrdersTheArms(t *testing.T) {
	var stdout, stderr bytes.Buffer
	res, err := runSimulation(context.Background(), simOptions{Residents: 90, Weeks: 2, Seed: 3}, &stdout)
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, stdout.String())
	}
	sent, clicks := map[string]int64{}, map[string]int64{}
	for _, w := range res.Weeks {
		for _, a := range simArms {
			sent[a] += w.Sent[a]
			clicks[a] += w.Clicks[a]
		}
	}
	ctr := func(a string) float64 { return float64(clicks[a]) / float64(max(sent[a], 1)) }
	if p, g, r := ctr("personalized"), ctr("group"), ctr("random"); !(p > g && g > r) || sent["random"] < 40 {
		t.Errorf("click-through personalized %.3f, group %.3f, random %.3f (sent %v), want personalized > group > random\n%s",
			p, g, r, sent, stdout.String())
	}
	// The send-time run: residents with a hidden reading hour get the
	// optimal arm's push within the hour before they look (the bot learned
	// the hour from when they wrote), the fixed arm's only when that hour
	// is lunch.
	stdout.Reset()
	res, err = runSimulation(context.Background(), simOptions{Residents: 16, Weeks: 1, Seed: 5, SendTime: true}, &stdout)
	if err != nil {
		t.Fatalf("simulate --send-time: %v\n%s", err, stdout.String())
	}
	w := res.Weeks[0]
	onTime := func(a string) float64 { return float64(w.OnTime[a]) / float64(max(w.Sent[a], 1)) }
	if w.Sent["optimal"] < 6 || onTime("optimal") < 0.99 || onTime("personalized") > 0.75 {
		t.Errorf("send-time run: sent %v, on time %v; want nearly every optimal push on time, the fixed hour's not\n%s", w.Sent, w.OnTime, stdout.String())
	}
	// The command writes the report and the chart; --library 2 doubles the
	// library with twins.
	out := t.TempDir()
	args := []string{"simulate", "--residents", "3", "--weeks", "1", "--library", "2", "--out", out}
	if err := run(context.Background(), args, &stdout, &stderr, env(nil)); err != nil {
		t.Fatalf("simulate: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if md, err := os.ReadFile(filepath.Join(out, "report.md")); err != nil || !strings.Contains(string(md), "| 1 |") || !strings.Contains(string(md), "Library: 156 items, the 78 sample items and 1 synthetic twins of each") {
		t.Errorf("report.md = %q, %v; want the week's row and the twins", md, err)
	}
	if !strings.Contains(stdout.String(), "library 156 items") {
		t.Errorf("simulate --library 2 does not say 156 items:\n%s", stdout.String())
	}
	svg, err := os.ReadFile(filepath.Join(out, "ctr.svg"))
	if err != nil || !strings.HasPrefix(string(svg), "<svg") || strings.Count(string(svg), "<polyline") != 3 {
		t.Errorf("ctr.svg = %.80q, %v; want an SVG with three lines", svg, err)
	}
	for _, bad := range [][]string{{"--weeks", "0"}, {"--library", "0"}, {"--library", "11"}} {
		if err := run(context.Background(), append([]string{"simulate"}, bad...), &stdout, &stderr, env(nil)); err != errUsage {
			t.Errorf("simulate %v: err = %v, want errUsage", bad, err)
		}
	}
}
