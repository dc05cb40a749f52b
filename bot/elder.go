package bot

import (
	"context"
	"strings"
)

// Elder mode (长辈模式): a subscriber setting for elderly residents. Pushes
// come as one short plain text (an item's short version) and, when the
// item has one, its voice recording (scheduler/campaign renders them);
// chat answers in short sentences, and a one-digit message picks from the
// numbered menu (elderMenu) instead of typing words.

// elderMenu is what each digit means in elder mode, in the order shown.
var elderMenu = []struct{ digit, label, command string }{
	{"1", "天气防灾", "防灾"},
	{"2", "健康安全", "健康"},
	{"3", "种养技术", "种养技术"},
	{"4", "参加答题", "答题"},
	{"5", "报名活动", "报名"},
	{"6", "我的资料", "我的"},
	{"0", "关闭长辈模式", "关闭长辈模式"},
}

// elderMenuText lists the menu, one short line per digit.
func elderMenuText() string {
	var b strings.Builder
	b.WriteString("请回复数字：")
	for _, m := range elderMenu {
		b.WriteString("\n" + m.digit + " " + m.label)
	}
	return b.String()
}

// elderDigit turns a menu digit typed in elder mode into its command, when
// no question or dialog is waiting for an answer (those take digits
// themselves: onboarding choices, quiz answers).
func elderDigit(req *Request) {
	p, m := req.Profile, req.Msg
	if p == nil || !p.Elder || m.Type != "text" || p.Step != 0 || req.Dialog.Name != "" {
		return
	}
	d := strings.TrimSpace(strings.Map(fullWidthDigit, m.Text))
	for _, e := range elderMenu {
		if d == e.digit {
			m.Text = e.command
			return
		}
	}
}

func fullWidthDigit(r rune) rune {
	if r >= '０' && r <= '９' {
		return '0' + r - '０'
	}
	return r
}

func (b *Bot) elderOn(_ context.Context, req *Request) (Reply, error) {
	req.Profile.Elder = true
	return Text(txtElderOn + "\n" + elderMenuText()), nil
}

func (b *Bot) elderOff(_ context.Context, req *Request) (Reply, error) {
	req.Profile.Elder = false
	return Text(txtElderOff), nil
}
