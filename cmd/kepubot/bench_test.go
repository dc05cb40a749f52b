package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchSmall runs `kepubot bench` at a small size, so it keeps working:
// every step runs against a redis-server of its own and the fake WeChat,
// checks what it sent (each bulk recipient sent, each per-message one by
// customer-service message) and reports.
//
// Not parallel: the bench runs its own fake WeChat, and the SDK's API base
// is process-wide (wechat.SetAPIBase); beside the package's parallel tests,
// which share another fake, one of them would call the wrong fake (40013).
func TestBenchSmall(t *testing.T) {
	chart := filepath.Join(t.TempDir(), "bench.svg")
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"bench", "--subscribers", "2000", "--per-message", "200", "--webhook", "100", "--chart", chart}, &out, &errs, func(string) string { return "" })
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errs.String())
	}
	for _, want := range []string{"| import", "| Redis memory per subscriber", "| planned + queued", "| bulk: everyone by mass send", "calls: all 1",
		"| per message: customer-service", "asynq, one task per message", "naive list queue", "| webhook"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errs.String(), "import") || !strings.Contains(errs.String(), "100%") {
		t.Errorf("no progress bar on stderr: %q", errs.String())
	}
	svg, err := os.ReadFile(chart)
	if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) {
		t.Errorf("chart = %.80q, %v", svg, err)
	}
}
