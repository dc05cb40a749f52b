package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
