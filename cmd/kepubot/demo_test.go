package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemo runs `kepubot demo` as a newcomer would (shortened to three
// days). It is not parallel: the demo points the process-wide WeChat API
// base at its own simulated WeChat.
func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"demo", "--days", "3"}, &out, &errb, env(nil)); err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, out.String(), errb.String())
	}
	s := out.String()
	for _, want := range []string{"[1/3]", "[2/3]", "[3/3]", "no 45015 or 45047", "荔枝", "custom"} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
	// Every persona received something.
	received := map[string]int{}
	current := ""
	for _, line := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(line, "      ") && current != "":
			received[current]++
		case strings.HasPrefix(line, "  ") && strings.Contains(line, " — "):
			current = strings.TrimSpace(line[:strings.Index(line, " — ")])
		default:
			current = ""
		}
	}
	for _, p := range personas {
		if received[p.Name] == 0 {
			t.Errorf("%s received nothing:\n%s", p.Name, s)
		}
	}
	if strings.Contains(s, "暂时没找到") {
		t.Errorf("a persona's search found nothing:\n%s", s)
	}
}
