package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

func TestContentImportRefusesEmbeddedRedis(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "items.yaml")
	os.WriteFile(file, []byte(`items:
  - external_id: cli-1
    title: 荔枝花期管理要点
    summary: 花期控梢保花。
    url: https://kepu.example.org/a/1
    groups: [farmer]
    towns: []
    topics: [litchi]
    source: 增城区科协
`), 0o600)
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"content", "import", file}, &out, &errb, env(nil))
	if err == nil || !strings.Contains(err.Error(), "KEPUBOT_REDIS_URL") || !strings.Contains(err.Error(), "--embedded") {
		t.Fatalf("import without KEPUBOT_REDIS_URL: err = %v, want a refusal naming KEPUBOT_REDIS_URL and --embedded", err)
	}
	if strings.Contains(out.String(), "created") {
		t.Errorf("refused import printed %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"content", "import", file, "--embedded"}, &out, &errb, env(nil)); err != nil ||
		!strings.Contains(out.String(), "created 1") {
		t.Errorf("import --embedded (after the path) = %v, %q", err, out.String())
	}
	// Against a real Redis it imports, and says how long it took.
	url, _ := redistest.StartURL(t, redistest.Options{})
	out.Reset()
	errb.Reset()
	if err := run(context.Background(), []string{"content", "import", file}, &out, &errb,
		env(map[string]string{"KEPUBOT_REDIS_URL": url})); err != nil || !strings.Contains(out.String(), "created 1") {
		t.Errorf("import into Redis = %v, %q", err, out.String())
	}
	if !strings.Contains(errb.String(), "import took") {
		t.Errorf("import printed no timing on stderr: %q", errb.String())
	}
}

func TestCampaignCLIExplainsItself(t *testing.T) {
	t.Parallel()
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx := context.Background()
	var out, errb bytes.Buffer
	err = run(ctx, []string{"campaign", "list"}, &out, &errb, env(map[string]string{"KEPUBOT_HTTP_ADDR": addr}))
	if err == nil || !strings.Contains(err.Error(), "not reachable at http://"+addr) || strings.Contains(err.Error(), "dial tcp") {
		t.Errorf("campaign list with no server: err = %v, want plain words naming %s", err, addr)
	}
	// Options after the verb are read, not ignored.
	err = run(ctx, []string{"campaign", "list", "--server", "http://" + addr}, &out, &errb, env(nil))
	if err == nil || !strings.Contains(err.Error(), "http://"+addr) {
		t.Errorf("campaign list --server after the verb: err = %v, want it to use %s", err, addr)
	}
	errb.Reset()
	if err := run(ctx, []string{"campaign", "show", "c_1", "--name", "x"}, &out, &errb, env(nil)); err != errUsage ||
		!strings.Contains(errb.String(), "--name") {
		t.Errorf("campaign show --name: %v %q, want a usage error naming --name", err, errb.String())
	}
	errb.Reset()
	if err := run(ctx, []string{"campaign", "list", "extra"}, &out, &errb, env(nil)); err != errUsage {
		t.Errorf("campaign list extra: err = %v, want errUsage", err)
	}
	err = run(ctx, []string{"campaign", "create", "--name", "x", "--personalized", "--send-at", "tomorrow"}, &out, &errb, env(nil))
	if err == nil || !strings.Contains(err.Error(), "2006") && !strings.Contains(err.Error(), "08:00") {
		t.Errorf("--send-at tomorrow: err = %v, want the accepted formats", err)
	} else if strings.Contains(err.Error(), "Z07:00") || strings.Contains(err.Error(), "2006-01-02T15") {
		t.Errorf("--send-at tomorrow: err = %v shows Go's layout string", err)
	}
}

func TestParseSendAt(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	want := time.Date(2027, 5, 18, 8, 0, 0, 0, loc)
	for _, in := range []string{"2027-05-18 08:00", "2027-05-18T08:00", "2027-05-18T08:00:00+08:00", "2027-05-18T00:00:00Z"} {
		got, err := parseSendAt(in, loc)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSendAt(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	if _, err := parseSendAt("2027-05-18", loc); err == nil {
		t.Errorf("parseSendAt without a time: no error")
	}
}

func TestLocalTimes(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	v := map[string]any{"created_at": "2027-05-17T00:30:00Z", "list": []any{"2027-05-17T00:30:00.5+00:00"}, "name": "2027 荔枝", "zero": "0001-01-01T00:00:00Z"}
	got := localTimes(v, loc).(map[string]any)
	if got["created_at"] != "2027-05-17T08:30:00+08:00" || got["list"].([]any)[0] != "2027-05-17T08:30:00+08:00" || got["name"] != "2027 荔枝" {
		t.Errorf("localTimes = %v", got)
	}
}

func TestDemoDaysOutOfRange(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"demo", "--days", "0"}, {"demo", "--days", "40"}} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, &out, &errb, env(nil)); err != errUsage || !strings.Contains(errb.String(), "1 to 31") {
			t.Errorf("%v: err = %v, stderr %q, want a usage error saying 1 to 31", args, err, errb.String())
		}
	}
}

func TestConfigYAMLErrorsNameTheKeyAndLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i, tc := range []struct {
		yaml string
		want []string
	}{
		{"http:\n  adress: 127.0.0.1:9\n", []string{"line 2", `"http.adress"`, `did you mean "http.addr"`}},
		{"timezone: UTC\nadress: 127.0.0.1:9\n", []string{"line 2", `"adress"`, `"http.addr"`}},
		{"log:\n  level: [debug]\n", []string{"line 2", "log.level", "single value"}},
		{"accounts:\n  - id: agri\n    app_id: wxa\n    tokn: t\n", []string{"line 4", "accounts[0].tokn", `"accounts[0].token"`}},
		{"delivery:\n  per_week: three\n", []string{"line 2", "delivery.per_week", "whole number"}},
		{"feeds:\n  name: x\n", []string{"line 2", "feeds", "list"}},
		{"http:\n  addr: x\n- y\n", []string{"line 3", "not valid YAML", "3 | - y"}},
		{"http:\n  addr: x\n\tlog: y\n", []string{"line 3", "not valid YAML"}},
	} {
		path := filepath.Join(dir, fmt.Sprintf("c%d.yaml", i))
		os.WriteFile(path, []byte(tc.yaml), 0o600)
		_, err := LoadConfig(path, env(nil))
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("LoadConfig(%q) = %v, want it to say %s", tc.yaml, err, w)
			}
		}
	}
	// A good file still loads.
	path := filepath.Join(dir, "ok.yaml")
	os.WriteFile(path, []byte("http:\n  addr: 127.0.0.1:9\ndelivery:\n  per_week: 2\nfeeds: []\n"), 0o600)
	if c, err := LoadConfig(path, env(nil)); err != nil || c.Delivery.PerWeek != 2 {
		t.Errorf("good file: %v", err)
	}
}

// TestMissingRedisSaysSoInWords runs the real main (this test binary, as
// a child) against a Redis that is not there: one plain error, no raw
// go-redis log lines before it.
func TestMissingRedisSaysSoInWords(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KEPUBOT_TEST_MAIN=serve", "KEPUBOT_REDIS_URL=redis://"+addr, "KEPUBOT_HTTP_ADDR=127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("serve without Redis exited 0:\n%s", out)
	}
	s := strings.TrimSpace(string(out))
	if !strings.HasPrefix(s, "kepubot: cannot reach Redis at "+addr) || strings.Count(s, "\n") > 0 {
		t.Errorf("serve without Redis printed:\n%s\nwant one line starting %q", s, "kepubot: cannot reach Redis at "+addr)
	}
}

// TestServePrintsAnAdminToken: on the embedded defaults (`make run`) serve
// prints an admin API token, and the CLI works with it.
func TestServePrintsAnAdminToken(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	out := &lockedWriter{w: &buf}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, out, out, env(map[string]string{"KEPUBOT_HTTP_ADDR": "127.0.0.1:0"}))
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	tokenRE := regexp.MustCompile(`export KEPUBOT_ADMIN_TOKEN=([0-9a-f]+)`)
	addrRE := regexp.MustCompile(`console: (http://[0-9.:]+)/console/`)
	var m, a []string
	for deadline := time.Now().Add(30 * time.Second); m == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no admin token:\n%s", written(out, &buf))
		}
		time.Sleep(20 * time.Millisecond)
		m = tokenRE.FindStringSubmatch(written(out, &buf))
		a = addrRE.FindStringSubmatch(written(out, &buf))
	}
	var cli bytes.Buffer
	if err := run(context.Background(), []string{"campaign", "list", "--server", a[1]}, &cli, &cli,
		env(map[string]string{"KEPUBOT_ADMIN_TOKEN": m[1]})); err != nil {
		t.Errorf("campaign list with the printed token: %v\n%s", err, cli.String())
	}
	cli.Reset()
	if err := run(context.Background(), []string{"campaign", "list", "--table", "--server", a[1]}, &cli, &cli,
		env(map[string]string{"KEPUBOT_ADMIN_TOKEN": m[1]})); err != nil || !strings.HasPrefix(cli.String(), "ID  ") {
		t.Errorf("campaign list --table: %v\n%s", err, cli.String())
	}
	cli.Reset()
	if err := run(context.Background(), []string{"campaign", "list", "--server", a[1], "--token", "wrong"}, &cli, &cli, env(nil)); err == nil ||
		!strings.Contains(err.Error(), "make run") {
		t.Errorf("campaign list with a wrong token: %v, want a hint where the token comes from", err)
	}
}

// Every command reads its options before or after its arguments and
// refuses what it does not take.
func TestCommandsRefuseStrayArguments(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"serve", "now"}, {"menu", "publish", "extra"}, {"demo", "fast"}, {"chat", "--as", "x", "y"},
		{"console", "passwd", "a", "b"}} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, &out, &errb, env(nil)); err != errUsage || errb.Len() == 0 {
			t.Errorf("%v: err = %v, stderr %q; want a usage error", args, err, errb.String())
		}
	}
}

// A long import says how far it is, on stderr.
func TestContentImportShowsProgress(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("items:\n")
	const n = 2001
	for i := range n {
		fmt.Fprintf(&b, "  - {external_id: p-%d, title: 荔枝花期管理要点%d, summary: 花期控梢保花。, url: https://kepu.example.org/a/%d, groups: [farmer], towns: [], topics: [litchi], source: 增城区科协}\n", i, i, i)
	}
	file := filepath.Join(t.TempDir(), "items.yaml")
	os.WriteFile(file, []byte(b.String()), 0o600)
	url, _ := redistest.StartURL(t, redistest.Options{})
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"content", "import", file}, &out, &errb,
		env(map[string]string{"KEPUBOT_REDIS_URL": url})); err != nil || !strings.Contains(out.String(), fmt.Sprintf("created %d", n)) {
		t.Fatalf("import: %v %q\n%s", err, out.String(), errb.String())
	}
	for _, want := range []string{"imported 1000 of 2001 records", "imported 2000 of 2001 records", "import took"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}
