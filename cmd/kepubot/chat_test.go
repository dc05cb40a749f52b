package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// chatAs runs `kepubot chat` with lines on its standard input.
func chatAs(t *testing.T, name string, vars map[string]string, lines ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cmdChat(context.Background(), []string{"--as", name}, strings.NewReader(strings.Join(lines, "\n")+"\n"), &out, &errb, env(vars))
	return out.String(), errb.String(), err
}

func TestChatAsResident(t *testing.T) {
	t.Parallel()
	e := startE2E(t)
	vars := map[string]string{"KEPUBOT_HTTP_ADDR": e.app.Addr(), "KEPUBOT_WECHAT_TOKEN": "e2etoken"}
	out, errs, err := chatAs(t, "小王", vars, "/follow", "农民", "派潭", "荔枝", "/location 23.63 113.83", "/bogus", "/quit", "我的")
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, errs)
	}
	for _, want := range []string{"欢迎", "哪个镇街", "关心什么", "设置好了"} {
		if !strings.Contains(out, want) {
			t.Errorf("chat output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "您的资料") {
		t.Errorf("a line after /quit was sent:\n%s", out)
	}
	if !strings.Contains(errs, "unknown command /bogus") {
		t.Errorf("an unknown /command was not refused: %q", errs)
	}
	id := chatOpenID("小王")
	code, p := e.api("GET", "/api/v1/subscribers/"+id, "admintoken", nil)
	if code != 200 || p["group"] != "farmer" || p["town"] != "paitan" {
		t.Fatalf("subscriber %s = %d %v, want a farmer in paitan", id, code, p)
	}
	// The same name is the same resident.
	if out, _, err := chatAs(t, "小王", vars, "我的"); err != nil || !strings.Contains(out, "派潭镇") {
		t.Errorf("second chat as 小王: %v\n%s", err, out)
	}
	if chatOpenID("小王") == chatOpenID("小李") || len(id) != 28 {
		t.Errorf("chat openids: %q %q", id, chatOpenID("小李"))
	}
	// A wrong token is explained.
	vars["KEPUBOT_WECHAT_TOKEN"] = "wrong"
	if _, _, err := chatAs(t, "小王", vars, "我的"); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("chat with a wrong token: err = %v, want one about the token", err)
	}
	// No name: usage.
	var errb bytes.Buffer
	if err := cmdChat(context.Background(), nil, strings.NewReader(""), &errb, &errb, env(vars)); err != errUsage || !strings.Contains(errb.String(), "--as NAME") {
		t.Errorf("chat without --as: %v %q", err, errb.String())
	}
}

// TestSamplesAreDatedAroundToday: on `make run` (embedded Redis, the
// samples) 答题 finds a running quiz and 报名 an event open for sign-up,
// whatever today is.
func TestSamplesAreDatedAroundToday(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	today := time.Date(2026, 3, 10, 9, 0, 0, 0, loc)
	cfg, err := LoadConfig("", env(map[string]string{"KEPUBOT_HTTP_ADDR": "127.0.0.1:0"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	app, err := NewApp(ctx, cfg, newLogger(cfg, io.Discard), AppOptions{Now: func() time.Time { return today }})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	out, errs, err := chatAs(t, "小张", map[string]string{"KEPUBOT_HTTP_ADDR": app.Addr()}, "/follow", "跳过", "跳过", "跳过", "报名", "答题")
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, errs)
	}
	for _, want := range []string{"现在可以报名的活动", "2026年增城区科技活动周主场活动", "3月15日", "报名 KJZ2027", "第1/5题"} {
		if !strings.Contains(out, want) {
			t.Errorf("chat lacks %q:\n%s", want, out)
		}
	}
	if got := sampleShiftDays(time.Date(2027, 5, 17, 7, 0, 0, 0, loc), loc); got != 0 {
		t.Errorf("sampleShiftDays(the demo's start) = %d, want 0", got)
	}
}
