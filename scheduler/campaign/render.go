package campaign

import (
	"strings"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/content"
)

// What subscribers receive, per channel. Render is the one place a
// message is written: the sends (engine.go) turn its Message into the
// WeChat call, and the plan's sample (Plan) shows it as a preview, so a
// preview cannot differ from what is sent. Links go through the click
// tracker (links.go) when a public URL is configured.

// Message is what one subscriber's phone shows for a send. Its links are
// the subscriber's own tracked links (a mass message's link is shared by
// the batch): making one records nothing, but following one counts a
// click, so a preview shows them as text and never follows them.
type Message struct {
	Channel string `json:"channel"` // custom, template, subscribe, mass
	// A customer-service news card.
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	PicURL      string `json:"pic_url,omitempty"`
	// A mass message's text (its link included).
	Text string `json:"text,omitempty"`
	// A notice's keyword fields (template and subscribe messages).
	Fields map[string]string `json:"fields,omitempty"`
	URL    string            `json:"url,omitempty"`
}

// Render is the message member gets from c with item through channel
// (custom, template, subscribe or mass); nil for another channel. A mass
// message is the same for every recipient: member is not used.
func (e *Engine) Render(c *Campaign, it *content.Item, member profile.Member, channel string) *Message {
	switch channel {
	case "custom":
		// A news card.
		return &Message{Channel: channel, Title: it.Title, Description: it.Summary, PicURL: it.CoverURL,
			URL: e.link(c, it, &member.ID)}
	case "mass":
		// Text, the same for every recipient of a batch, so its link
		// counts clicks per campaign, not per subscriber.
		link := e.link(c, it, nil)
		return &Message{Channel: channel, Text: massText(it, link), URL: link}
	case "elder":
		// Elder mode: the short text, plain, with the link at the end
		// (a customer-service text, or a mass text to elder recipients).
		link := e.link(c, it, nil)
		if channel == "elder" && member.OpenID != "" {
			link = e.link(c, it, &member.ID)
		}
		return &Message{Channel: channel, Text: elderText(it, link), URL: link}
	case "template", "subscribe":
		// A service notice. Since 2023-05 WeChat ignores first/remark and
		// colours: only keyword fields are sent.
		return &Message{Channel: channel, URL: e.link(c, it, &member.ID),
			Fields: map[string]string{"thing1": truncate(it.Title, 20), "thing2": truncate(it.Short, 20)}}
	}
	return nil
}

// elderText is an item for elder mode: its short version (≤ 80
// characters; the summary cut when it has none), then where to read more.
func elderText(it *content.Item, link string) string {
	short := it.Short
	if short == "" {
		short = truncate(it.Summary, content.MaxShort)
	}
	return short + "\n详情：" + link
}

func massText(it *content.Item, link string) string {
	var b strings.Builder
	b.WriteString("【增城科普】")
	b.WriteString(it.Title)
	b.WriteString("\n")
	summary := it.Summary
	if it.Short != "" && len([]rune(it.Summary)) > 80 {
		summary = it.Short
	}
	b.WriteString(summary)
	b.WriteString("\n阅读全文：")
	b.WriteString(link)
	return b.String()
}

// article is the customer-service news card that sends m.
func (m *Message) article() wechat.Article {
	return wechat.Article{Title: m.Title, Description: m.Description, URL: m.URL, PicURL: m.PicURL}
}

// template is the template message that sends m to member for c.
func (e *Engine) template(c *Campaign, member profile.Member, m *Message) wechat.TemplateMessage {
	return wechat.TemplateMessage{
		ToUser:      member.OpenID,
		TemplateID:  e.cfg.Template,
		URL:         m.URL,
		Data:        m.Fields,
		ClientMsgID: "kb" + c.ID + "-" + member.OpenID,
	}
}

func (e *Engine) link(c *Campaign, it *content.Item, id *profile.ID) string {
	if e.cfg.Links == nil {
		return it.URL
	}
	return e.cfg.Links.ItemURL(c.Account, c.ID, it.ID, it.Version, id)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
