package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
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
	for _, want := range []string{"[1/3]", "[2/3]", "[3/3]", "no 45015 or 45047", "荔枝", "custom", "每周最多推送 3 条"} {
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
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, "skipped") && strings.Contains(line, "_") {
			t.Errorf("the summary shows a reason key, not words: %q", line)
		}
	}
	if strings.Contains(s, "暂时没找到") {
		t.Errorf("a persona's search found nothing:\n%s", s)
	}
	// Elder-mode residents get the short text and the voice recording.
	for _, p := range personas {
		if !p.Elder {
			continue
		}
		var lines []string
		for i, line := range strings.Split(s[strings.Index(s, p.Name+" — "):], "\n") {
			if i > 0 && !strings.HasPrefix(line, "      ") {
				break
			}
			lines = append(lines, line)
		}
		block := strings.Join(lines, "\n")
		if !strings.Contains(block, "custom [语音]") {
			t.Errorf("%s (长辈模式) got no voice message:\n%s", p.Name, block)
		}
		for _, line := range strings.Split(block, "\n")[1:] {
			if f := strings.Fields(line); len(f) > 3 && f[2] == "custom" && f[3] != "[语音]" && len([]rune(f[3])) > 80 {
				t.Errorf("%s (长辈模式) got a long text: %q", p.Name, line)
			}
		}
	}
}

// TestDemoLeavesRoomForTheOrganizer: after the simulated days the README's
// walkthrough campaign (an item to farmers in 派潭) reaches residents
// instead of being skipped for their frequency caps. Not parallel (the
// demo sets the process-wide WeChat API base).
func TestDemoLeavesRoomForTheOrganizer(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	d, err := runDemo(ctx, 3, &out)
	if d != nil {
		defer d.close()
	}
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	it, _, err := d.app.content.UpsertItem(ctx, "default", content.Item{ExternalID: "walkthrough-1",
		Title: "荔枝花期管理要点", Summary: "花期控梢保花，注意防治蒂蛀虫。", URL: "https://kepu.example.org/a/walkthrough",
		Audience: content.Audience{Groups: []string{"farmer"}, Topics: []string{"litchi"}}, Source: "增城区科协"}, "test", true)
	if err != nil {
		t.Fatal(err)
	}
	api := func(method, path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, d.base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+d.adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, v)
		}
		return v
	}
	c := api("POST", "/api/v1/campaigns", map[string]any{"name": "荔枝花期", "audience": "group:farmer & town:paitan", "item_id": it.ID})
	id := c["id"].(string)
	api("POST", "/api/v1/campaigns/"+id+"/start", map[string]any{})
	for deadline := time.Now().Add(time.Minute); c["status"] != "done"; {
		if time.Now().After(deadline) {
			t.Fatalf("campaign not done within a minute: %v", c)
		}
		time.Sleep(20 * time.Millisecond)
		c = api("GET", "/api/v1/campaigns/"+id, nil)
	}
	st := c["stats"].(map[string]any)
	reasons, _ := st["reasons"].(map[string]any)
	if st["sent"] == float64(0) || st["queued"] == float64(0) {
		t.Fatalf("the walkthrough's campaign reached nobody after the demo: stats %v\n%s", st, out.String())
	}
	for k, n := range reasons {
		if strings.Contains(k, "frequency_cap") {
			t.Errorf("%v skipped for the frequency cap after the demo: stats %v", n, st)
		}
	}
	// `kepubot chat` against the demo: the conversation shows on 居民手机.
	host := strings.TrimPrefix(d.base, "http://")
	if out, errs, err := chatAs(t, "小王", map[string]string{"KEPUBOT_HTTP_ADDR": host, "KEPUBOT_WECHAT_TOKEN": d.acct.Token}, "/follow", "农民"); err != nil ||
		!strings.Contains(out, "哪个镇街") {
		t.Errorf("chat with the demo: %v\n%s\n%s", err, out, errs)
	}
	phones := d.phones
	var shown bool
	for _, p := range phones.Personas() {
		if p.ID == chatOpenID("小王") {
			shown = true
			lines := phones.Chat(p.ID)
			if len(lines) != 4 || lines[2].Text != "农民" || !strings.Contains(lines[3].Text, "哪个镇街") {
				t.Errorf("居民手机 of the chat resident shows %+v", lines)
			}
		}
	}
	if !shown {
		t.Errorf("居民手机 does not list the chat resident: %+v", phones.Personas())
	}

	// A resident who erases their data is shown so on 居民手机.
	phone := wechattest.NewPhone(d.wx, d.acct, d.base+"/wechat", false)
	wang := personas[6] // 王奶奶
	for _, msg := range []string{"删除我的数据", "确认删除"} {
		if _, err := phone.Text(ctx, wang.OpenID, msg); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range phones.Personas() {
		if p.ID == wang.OpenID && !strings.Contains(p.Profile, "已删除") {
			t.Errorf("居民手机 shows %s as %q after she erased her data", wang.Name, p.Profile)
		}
	}

	chen := personas[0] // 陈伯, a litchi farmer in 派潭
	got := d.wx.Delivered(d.acct.AppID, chen.OpenID)
	if len(got) == 0 || !strings.Contains(got[len(got)-1].Content, "荔枝花期管理要点") {
		t.Errorf("%s's phone does not show the campaign: %+v", chen.Name, got)
	}
}

// TestDemoStopsQuietly: Ctrl-C (the context ends) during the simulated
// days is no failure. Not parallel (the demo sets the process-wide WeChat
// API base).
func TestDemoStopsQuietly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	done := make(chan error, 1)
	w := &lockedWriter{w: &out}
	go func() { done <- run(ctx, []string{"demo", "--days", "2"}, w, &errb, env(nil)) }()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(written(w, &out), "[1/3]"); {
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not start:\n%s", written(w, &out))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil || !strings.Contains(out.String(), "demo stopped") {
		t.Errorf("demo stopped by Ctrl-C: err = %v, output:\n%s", err, out.String())
	}
}

// A week of daily tips reaches a resident on at most PerWeek days: the
// demo says so in Chinese rather than promise a tip a day.
func TestCapsNote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		perDay, perWeek, days int
		want                  []string
		wantNot               []string
	}{
		{1, 3, 7, []string{"每人每天最多推送 1 条", "每周最多推送 3 条", "7 天", "最多收到 3 条", "已达推送频率上限"}, nil},
		{1, 3, 3, []string{"每周最多推送 3 条"}, []string{"跳过"}},
		{0, 2, 5, []string{"每周最多推送 2 条", "最多收到 2 条"}, []string{"每天"}},
		{0, 0, 7, []string{"不设上限"}, []string{"最多"}},
	}
	for _, tt := range tests {
		got := capsNote(tt.perDay, tt.perWeek, tt.days)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("capsNote(%d, %d, %d) = %q, lacks %q", tt.perDay, tt.perWeek, tt.days, got, w)
			}
		}
		for _, w := range tt.wantNot {
			if strings.Contains(got, w) {
				t.Errorf("capsNote(%d, %d, %d) = %q, has %q", tt.perDay, tt.perWeek, tt.days, got, w)
			}
		}
	}
}
