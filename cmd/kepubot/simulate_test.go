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
	weeks, err := runSimulation(context.Background(), simOptions{Residents: 90, Weeks: 2, Seed: 3}, &stdout)
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, stdout.String())
	}
	sent, clicks := map[string]int64{}, map[string]int64{}
	for _, w := range weeks {
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
	// The command writes the report and the chart.
	out := t.TempDir()
	args := []string{"simulate", "--residents", "3", "--weeks", "1", "--out", out}
	if err := run(context.Background(), args, &stdout, &stderr, env(nil)); err != nil {
		t.Fatalf("simulate: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if md, err := os.ReadFile(filepath.Join(out, "report.md")); err != nil || !strings.Contains(string(md), "| 1 |") {
		t.Errorf("report.md = %q, %v; want the week's row", md, err)
	}
	svg, err := os.ReadFile(filepath.Join(out, "ctr.svg"))
	if err != nil || !strings.HasPrefix(string(svg), "<svg") || strings.Count(string(svg), "<polyline") != 3 {
		t.Errorf("ctr.svg = %.80q, %v; want an SVG with three lines", svg, err)
	}
	if err := run(context.Background(), []string{"simulate", "--weeks", "0"}, &stdout, &stderr, env(nil)); err != errUsage {
		t.Errorf("simulate --weeks 0: err = %v, want errUsage", err)
	}
}
