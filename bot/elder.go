package bot

import (
	"context"
	"strconv"
	"strings"
)

// Elder mode (长辈模式): a subscriber setting for elderly residents. Pushes
// come as one short plain text (an item's short version) and, when the
// item has one, its voice recording (scheduler/campaign renders them);
// chat answers in short sentences, and a one-digit message picks from the
// numbered menu (elderMenu) instead of typing words. Replies that offer
// choices number them (elderChoices): a search's items, the settings'
// changes; a digit then picks one (elderPick).

// dialogElderPick is open while numbered choices wait for a digit; its
// data are the choices' commands, one a line.
const dialogElderPick = "elder_pick"

// elderShowPrefix is the command a search's numbered item stands for:
// show that item (ContentSearch.Show).
const elderShowPrefix = "#看"

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

// elderChoices ends lines with numbered choices (label, command pairs):
// a digit then runs that command.
func elderChoices(req *Request, lines []string, choices ...[2]string) Reply {
	lines = append(lines, txtElderChoose)
	cmds := make([]string, len(choices))
	for i, c := range choices {
		lines = append(lines, strconv.Itoa(i+1)+" "+c[0])
		cmds[i] = c[1]
	}
	req.Dialog = Dialog{Name: dialogElderPick, Data: strings.Join(cmds, "\n")}
	return Text(strings.Join(lines, "\n"))
}

// elderPick takes the digit that picks one of the numbered choices; any
// other message is handled as if no choices had been offered.
func (b *Bot) elderPick(ctx context.Context, req *Request) (Reply, error) {
	cmds := strings.Split(req.Dialog.Data, "\n")
	req.Dialog = Dialog{}
	n, err := strconv.Atoi(strings.TrimSpace(strings.Map(fullWidthDigit, req.Msg.Text)))
	if err != nil || n < 1 || n > len(cmds) {
		elderDigit(req)
		return b.mux.Handle(ctx, req)
	}
	m := *req.Msg
	m.Text = cmds[n-1]
	return b.handleAs(ctx, req, &m)
}

// itemShower shows one item (ContentSearch).
type itemShower interface {
	Show(ctx context.Context, req *Request, id string) (Reply, error)
}

// elderShow answers a search's numbered item, picked by its digit.
func (b *Bot) elderShow(ctx context.Context, req *Request) (Reply, error) {
	s, ok := b.search.(itemShower)
	if !ok {
		return Text(txtNothingFound), nil
	}
	return s.Show(ctx, req, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(req.Msg.Text), elderShowPrefix)))
}
